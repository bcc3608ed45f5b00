using System.Reflection;
using ILGPU;
using ILGPU.Backends.EntryPoints;
using ILGPU.Backends.PTX;
using ILGPU.Runtime;
using ILGPU.Runtime.Cuda;
using IlgpuStyle.Kernels;
using Xunit;

namespace IlgpuStyle.Tests.Kernels;

/// <summary>Every kernel of the kernels library compiles to PTX for Volta, Ampere and Hopper, no GPU needed.</summary>
public class PtxCompileTests(Xunit.Abstractions.ITestOutputHelper output)
{
    public static TheoryData<string> Architectures => new() { "SM_70", "SM_80", "SM_90" };

    static readonly Lazy<Context> SharedContext = new(() => Context.Create(b => FusedMath.Register(b.EnableAlgorithms().Optimize(OptimizationLevel.O2))));

    [Theory, MemberData(nameof(Architectures))]
    public void EveryKernelCompilesToPtx(string architecture)
    {
        var arch = (CudaArchitecture)typeof(CudaArchitecture).GetField(architecture)!.GetValue(null)!;
        var context = SharedContext.Value;
        using var backend = new PTXBackend(context, new CudaCapabilityContext(arch), arch, CudaInstructionSet.ISA_80, null);
        var kernels = KernelCatalog.All();
        Assert.NotEmpty(kernels);
        var failures = new List<string>();
        var times = new List<(string, double)>();
        foreach (var (name, method, grouped) in kernels)
        {
            var clock = System.Diagnostics.Stopwatch.StartNew();
            try
            {
                var entry = grouped ? EntryPointDescription.FromExplicitlyGroupedKernel(method)
                                    : EntryPointDescription.FromImplicitlyGroupedKernel(method);
                var compiled = (PTXCompiledKernel)backend.Compile(entry, default);
                Assert.Contains(".entry", compiled.PTXAssembly);
            }
            catch (Exception e) { failures.Add($"{name}: {e.GetType().Name}: {e.Message}"); }
            times.Add((name, clock.Elapsed.TotalSeconds));
        }
        foreach (var (name, seconds) in times.OrderByDescending(t => t.Item2)) output.WriteLine($"{seconds,7:F2} s  {name}");
        Assert.True(failures.Count == 0, $"{failures.Count} of {kernels.Count} kernels failed for {architecture}:\n" + string.Join("\n", failures));
    }

    [Fact]
    public void CatalogCoversEveryKernelMethod()
    {
        var declared = typeof(Gemm).Assembly.GetTypes()
            .SelectMany(t => t.GetMethods(BindingFlags.Public | BindingFlags.Static))
            .Where(m => m.GetCustomAttribute<KernelNameAttribute>() is not null)
            .Select(m => m.DeclaringType!.Name + "." + m.Name).ToHashSet();
        var covered = KernelCatalog.All().Select(k => k.Method.DeclaringType!.Name + "." + k.Method.Name).ToHashSet();
        Assert.Empty(declared.Except(covered));
    }
}
