using System.Collections.Concurrent;
using System.Reflection;
using ILGPU.Backends.EntryPoints;

namespace IlgpuStyle.Devices;

/// <summary>
/// A launch in one line. Each kernel's name is written once, in its <c>[KernelName]</c> (kernels/*.cs); these helpers
/// compile the kernel on first use (kept per device), choose the threads, and bracket the launch for the profiler
/// under that name:
///   d.Stride(kernel, n, flops, bytes, args…)   a grid-stride loop <c>(Index1D t, int stride, …)</c> over n elements
///   d.Grid(kernel, n, flops, bytes, args…)     one thread per element <c>(Index1D i, …)</c>, n threads (none when n = 0)
/// Kernels with explicit groups (the GEMMs, the Direct and Rows convolutions) load and launch themselves.
/// </summary>
public static class KernelLaunch
{
    static readonly ConcurrentDictionary<MethodInfo, string> names = new();

    /// <summary>The kernel's <c>[KernelName]</c>: what ILGPU's backends call it and what the profiler shows.</summary>
    public static string NameOf(Delegate kernel) => names.GetOrAdd(kernel.Method, m => m.GetCustomAttribute<KernelNameAttribute>()?.KernelName
        ?? throw new InvalidOperationException($"kernel {m.DeclaringType?.Name}.{m.Name} has no [KernelName]"));

    // Grid-stride kernels (Index1D t, int stride, …): StrideThreadsFor(n) threads, each looping with that stride.
    public static void Stride<T1, T2>(this ComputeDevice d, Action<Index1D, int, T1, T2> k, long n, long flops, long bytes, T1 a1, T2 a2) where T1 : struct where T2 : struct
    { var launch = d.Kernel(k, a => a.LoadAutoGroupedStreamKernel(k)); int t = d.StrideThreadsFor(n); using (d.Launch(NameOf(k), flops, bytes)) launch(t, t, a1, a2); }
    public static void Stride<T1, T2, T3>(this ComputeDevice d, Action<Index1D, int, T1, T2, T3> k, long n, long flops, long bytes, T1 a1, T2 a2, T3 a3) where T1 : struct where T2 : struct where T3 : struct
    { var launch = d.Kernel(k, a => a.LoadAutoGroupedStreamKernel(k)); int t = d.StrideThreadsFor(n); using (d.Launch(NameOf(k), flops, bytes)) launch(t, t, a1, a2, a3); }
    public static void Stride<T1, T2, T3, T4>(this ComputeDevice d, Action<Index1D, int, T1, T2, T3, T4> k, long n, long flops, long bytes, T1 a1, T2 a2, T3 a3, T4 a4) where T1 : struct where T2 : struct where T3 : struct where T4 : struct
    { var launch = d.Kernel(k, a => a.LoadAutoGroupedStreamKernel(k)); int t = d.StrideThreadsFor(n); using (d.Launch(NameOf(k), flops, bytes)) launch(t, t, a1, a2, a3, a4); }
    public static void Stride<T1, T2, T3, T4, T5>(this ComputeDevice d, Action<Index1D, int, T1, T2, T3, T4, T5> k, long n, long flops, long bytes, T1 a1, T2 a2, T3 a3, T4 a4, T5 a5) where T1 : struct where T2 : struct where T3 : struct where T4 : struct where T5 : struct
    { var launch = d.Kernel(k, a => a.LoadAutoGroupedStreamKernel(k)); int t = d.StrideThreadsFor(n); using (d.Launch(NameOf(k), flops, bytes)) launch(t, t, a1, a2, a3, a4, a5); }
    public static void Stride<T1, T2, T3, T4, T5, T6>(this ComputeDevice d, Action<Index1D, int, T1, T2, T3, T4, T5, T6> k, long n, long flops, long bytes, T1 a1, T2 a2, T3 a3, T4 a4, T5 a5, T6 a6) where T1 : struct where T2 : struct where T3 : struct where T4 : struct where T5 : struct where T6 : struct
    { var launch = d.Kernel(k, a => a.LoadAutoGroupedStreamKernel(k)); int t = d.StrideThreadsFor(n); using (d.Launch(NameOf(k), flops, bytes)) launch(t, t, a1, a2, a3, a4, a5, a6); }
    public static void Stride<T1, T2, T3, T4, T5, T6, T7>(this ComputeDevice d, Action<Index1D, int, T1, T2, T3, T4, T5, T6, T7> k, long n, long flops, long bytes, T1 a1, T2 a2, T3 a3, T4 a4, T5 a5, T6 a6, T7 a7) where T1 : struct where T2 : struct where T3 : struct where T4 : struct where T5 : struct where T6 : struct where T7 : struct
    { var launch = d.Kernel(k, a => a.LoadAutoGroupedStreamKernel(k)); int t = d.StrideThreadsFor(n); using (d.Launch(NameOf(k), flops, bytes)) launch(t, t, a1, a2, a3, a4, a5, a6, a7); }
    public static void Stride<T1, T2, T3, T4, T5, T6, T7, T8>(this ComputeDevice d, Action<Index1D, int, T1, T2, T3, T4, T5, T6, T7, T8> k, long n, long flops, long bytes, T1 a1, T2 a2, T3 a3, T4 a4, T5 a5, T6 a6, T7 a7, T8 a8) where T1 : struct where T2 : struct where T3 : struct where T4 : struct where T5 : struct where T6 : struct where T7 : struct where T8 : struct
    { var launch = d.Kernel(k, a => a.LoadAutoGroupedStreamKernel(k)); int t = d.StrideThreadsFor(n); using (d.Launch(NameOf(k), flops, bytes)) launch(t, t, a1, a2, a3, a4, a5, a6, a7, a8); }
    public static void Stride<T1, T2, T3, T4, T5, T6, T7, T8, T9>(this ComputeDevice d, Action<Index1D, int, T1, T2, T3, T4, T5, T6, T7, T8, T9> k, long n, long flops, long bytes, T1 a1, T2 a2, T3 a3, T4 a4, T5 a5, T6 a6, T7 a7, T8 a8, T9 a9) where T1 : struct where T2 : struct where T3 : struct where T4 : struct where T5 : struct where T6 : struct where T7 : struct where T8 : struct where T9 : struct
    { var launch = d.Kernel(k, a => a.LoadAutoGroupedStreamKernel(k)); int t = d.StrideThreadsFor(n); using (d.Launch(NameOf(k), flops, bytes)) launch(t, t, a1, a2, a3, a4, a5, a6, a7, a8, a9); }
    public static void Stride<T1, T2, T3, T4, T5, T6, T7, T8, T9, T10>(this ComputeDevice d, Action<Index1D, int, T1, T2, T3, T4, T5, T6, T7, T8, T9, T10> k, long n, long flops, long bytes, T1 a1, T2 a2, T3 a3, T4 a4, T5 a5, T6 a6, T7 a7, T8 a8, T9 a9, T10 a10) where T1 : struct where T2 : struct where T3 : struct where T4 : struct where T5 : struct where T6 : struct where T7 : struct where T8 : struct where T9 : struct where T10 : struct
    { var launch = d.Kernel(k, a => a.LoadAutoGroupedStreamKernel(k)); int t = d.StrideThreadsFor(n); using (d.Launch(NameOf(k), flops, bytes)) launch(t, t, a1, a2, a3, a4, a5, a6, a7, a8, a9, a10); }

    // One thread per element (Index1D i, …): n threads; nothing is launched when n is 0.
    public static void Grid<T1, T2>(this ComputeDevice d, Action<Index1D, T1, T2> k, long n, long flops, long bytes, T1 a1, T2 a2) where T1 : struct where T2 : struct
    { if (n == 0) return; var launch = d.Kernel(k, a => a.LoadAutoGroupedStreamKernel(k)); using (d.Launch(NameOf(k), flops, bytes)) launch((int)n, a1, a2); }
    public static void Grid<T1, T2, T3>(this ComputeDevice d, Action<Index1D, T1, T2, T3> k, long n, long flops, long bytes, T1 a1, T2 a2, T3 a3) where T1 : struct where T2 : struct where T3 : struct
    { if (n == 0) return; var launch = d.Kernel(k, a => a.LoadAutoGroupedStreamKernel(k)); using (d.Launch(NameOf(k), flops, bytes)) launch((int)n, a1, a2, a3); }
    public static void Grid<T1, T2, T3, T4>(this ComputeDevice d, Action<Index1D, T1, T2, T3, T4> k, long n, long flops, long bytes, T1 a1, T2 a2, T3 a3, T4 a4) where T1 : struct where T2 : struct where T3 : struct where T4 : struct
    { if (n == 0) return; var launch = d.Kernel(k, a => a.LoadAutoGroupedStreamKernel(k)); using (d.Launch(NameOf(k), flops, bytes)) launch((int)n, a1, a2, a3, a4); }
    public static void Grid<T1, T2, T3, T4, T5>(this ComputeDevice d, Action<Index1D, T1, T2, T3, T4, T5> k, long n, long flops, long bytes, T1 a1, T2 a2, T3 a3, T4 a4, T5 a5) where T1 : struct where T2 : struct where T3 : struct where T4 : struct where T5 : struct
    { if (n == 0) return; var launch = d.Kernel(k, a => a.LoadAutoGroupedStreamKernel(k)); using (d.Launch(NameOf(k), flops, bytes)) launch((int)n, a1, a2, a3, a4, a5); }
    public static void Grid<T1, T2, T3, T4, T5, T6>(this ComputeDevice d, Action<Index1D, T1, T2, T3, T4, T5, T6> k, long n, long flops, long bytes, T1 a1, T2 a2, T3 a3, T4 a4, T5 a5, T6 a6) where T1 : struct where T2 : struct where T3 : struct where T4 : struct where T5 : struct where T6 : struct
    { if (n == 0) return; var launch = d.Kernel(k, a => a.LoadAutoGroupedStreamKernel(k)); using (d.Launch(NameOf(k), flops, bytes)) launch((int)n, a1, a2, a3, a4, a5, a6); }
}
