using ILGPU.Runtime.CPU;
using ILGPU.Runtime.Cuda;
using ILGPU.Runtime.OpenCL;

namespace IlgpuStyle.Devices;

public enum DeviceKind { Cuda, OpenCL, Cpu }

/// <summary>One device as found, usable or not.</summary>
public sealed record DeviceInfo(
    DeviceKind Kind, int Index, string Name, long MemoryBytes, int WarpSize, bool IsGpu, bool Usable, string? WhyNotUsable)
{
    internal Device? IlgpuDevice { get; init; }

    /// <summary>
    /// Floats in one SIMD vector as the device reports it: OpenCL's native vector width for float (PoCL: 16 with AVX-512,
    /// 8 with AVX2), the host's widest accelerated .NET vector for ILGPU's CPU accelerator, a warp's lanes on CUDA.
    /// </summary>
    public int VectorWidthFloat { get; init; }

    /// <summary>The spelling `--device` takes: cuda:0, opencl:1, cpu:0.</summary>
    public string Id => $"{Kind.ToString().ToLowerInvariant()}:{Index}";
}

/// <summary>
/// Every device ILGPU can see: CUDA GPUs, OpenCL devices (usable when they offer OpenCL C 2.0+ with
/// the generic address space, which ILGPU's OpenCL backend needs), and ILGPU's CPU accelerator.
/// One ILGPU context for the process; devices are opened on demand.
/// </summary>
public sealed class DeviceCatalog : IDisposable
{
    readonly Context context;
    public IReadOnlyList<DeviceInfo> Devices { get; }

    public DeviceCatalog()
    {
        // The CPU accelerator simulates groups of up to 4 warps × 4 lanes on one multiprocessor per core.
        var cpu = new CPUDevice(4, 4, Math.Max(1, Environment.ProcessorCount));
        QuietPoclCompiler();
        context = Context.Create(builder =>
        {
            builder.CPU(cpu).EnableAlgorithms().Optimize(OptimizationLevel.O2);
            IlgpuStyle.Kernels.FusedMath.Register(builder);
            TryRegister(() => builder.Cuda());
            TryRegister(() => builder.OpenCL(_ => true));
        });
        var list = new List<DeviceInfo>();
        int cudaIndex = 0, clIndex = 0, cpuIndex = 0;
        foreach (var device in context)
        {
            switch (device)
            {
                case CudaDevice cuda:
                    list.Add(new DeviceInfo(DeviceKind.Cuda, cudaIndex++, cuda.Name, cuda.MemorySize, cuda.WarpSize, true, true, null)
                        { IlgpuDevice = cuda, VectorWidthFloat = cuda.WarpSize });
                    break;
                case CLDevice cl:
                {
                    string? why = null;
                    if (cl.CLStdVersion < ILGPU.Backends.OpenCL.CLBackend.MinimumVersion)
                        why = $"OpenCL C {cl.CLStdVersion} is older than the {ILGPU.Backends.OpenCL.CLBackend.MinimumVersion} ILGPU needs";
                    else if (!cl.Capabilities.GenericAddressSpace)
                        why = "no generic address space (ILGPU's OpenCL backend needs it; PoCL 5 or newer has it)";
                    bool gpu = cl.DeviceType == CLDeviceType.CL_DEVICE_TYPE_GPU;
                    list.Add(new DeviceInfo(DeviceKind.OpenCL, clIndex++, $"{cl.Name} ({cl.Vendor})", cl.MemorySize, cl.WarpSize, gpu, why is null, why)
                        { IlgpuDevice = cl, VectorWidthFloat = NativeFloatWidth(cl) });
                    break;
                }
                case CPUDevice c:
                    list.Add(new DeviceInfo(DeviceKind.Cpu, cpuIndex++, $"ILGPU CPU accelerator ({Environment.ProcessorCount} cores)",
                        GC.GetGCMemoryInfo().TotalAvailableMemoryBytes, c.WarpSize, false, true, null) { IlgpuDevice = c, VectorWidthFloat = HostFloatWidth() });
                    break;
            }
        }
        Devices = list;
    }

    /// <summary>CL_DEVICE_NATIVE_VECTOR_WIDTH_FLOAT; 0 where the driver does not say.</summary>
    static int NativeFloatWidth(CLDevice cl)
    {
        try { return cl.GetDeviceInfo<int>(CLDeviceInfoType.CL_DEVICE_NATIVE_VECTOR_WIDTH_FLOAT); }
        catch (Exception e) when (e is CLException or InvalidOperationException) { return 0; }
    }

    static int HostFloatWidth() =>
        System.Runtime.Intrinsics.Vector512.IsHardwareAccelerated ? 16
        : System.Runtime.Intrinsics.Vector256.IsHardwareAccelerated ? 8
        : System.Runtime.Intrinsics.Vector128.IsHardwareAccelerated ? 4 : 1;

    [System.Runtime.InteropServices.DllImport("libc", EntryPoint = "setenv", CharSet = System.Runtime.InteropServices.CharSet.Ansi)]
    static extern int SetNativeEnvironment(string name, string value, int overwrite);

    /// <summary>
    /// PoCL compiles each kernel with its own clang and writes clang's "N warnings generated." to stderr, between a
    /// command's lines; on AVX2 machines every OpenCL C `vstore16` (kernels/VectorStore.cs) draws a harmless warning
    /// that a 16-float vector argument changes the ABI without AVX-512. `-w` through PoCL's POCL_EXTRA_BUILD_FLAGS
    /// silences them (the compiled code is the same). It must be in the native environment before the OpenCL
    /// platform loads, which Environment.SetEnvironmentVariable does not reach on Unix. A value the user set,
    /// empty included, is kept: `POCL_EXTRA_BUILD_FLAGS= ilgpustyle …` shows the warnings.
    /// </summary>
    static void QuietPoclCompiler()
    {
        const string name = "POCL_EXTRA_BUILD_FLAGS";
        if (OperatingSystem.IsWindows() || Environment.GetEnvironmentVariable(name) is not null) return;
        try { SetNativeEnvironment(name, "-w", 0); }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException) { }
    }

    static void TryRegister(Action register)
    {
        // A machine without the CUDA driver or an OpenCL loader simply has no such devices.
        try { register(); } catch (Exception e) when (e is DllNotFoundException or TypeInitializationException or EntryPointNotFoundException or InvalidOperationException) { }
    }

    /// <summary>
    /// Why no OpenCL device is listed, in one line with what to install: no OpenCL loader (libOpenCL), or a loader
    /// with no platform (no ICD such as PoCL registered).
    /// </summary>
    public static string WhyNoOpenCL()
    {
        string library = OperatingSystem.IsWindows() ? "OpenCL.dll" : OperatingSystem.IsMacOS() ? "/System/Library/Frameworks/OpenCL.framework/OpenCL" : "libOpenCL.so.1";
        if (!System.Runtime.InteropServices.NativeLibrary.TryLoad(library, out var handle))
            return $"no OpenCL: the OpenCL loader ({library}) is not installed. For a CPU device install PoCL 5 or newer " +
                   "(Debian 13 / Ubuntu 24.04: apt install ocl-icd-libopencl1 pocl-opencl-icd), or a GPU vendor's OpenCL driver";
        System.Runtime.InteropServices.NativeLibrary.Free(handle);
        return "no OpenCL device: the loader is installed but no platform (ICD) is registered in /etc/OpenCL/vendors; " +
               "install PoCL 5 or newer (apt install pocl-opencl-icd) or a GPU vendor's OpenCL driver";
    }

    /// <summary>CUDA, else an OpenCL GPU, else an OpenCL CPU device (PoCL), else ILGPU's CPU accelerator.</summary>
    public DeviceInfo Default =>
        Devices.FirstOrDefault(d => d.Usable && d.Kind == DeviceKind.Cuda)
        ?? Devices.FirstOrDefault(d => d.Usable && d.Kind == DeviceKind.OpenCL && d.IsGpu)
        ?? Devices.FirstOrDefault(d => d.Usable && d.Kind == DeviceKind.OpenCL)
        ?? Devices.First(d => d.Kind == DeviceKind.Cpu);

    /// <summary>
    /// Resolves `cuda`, `opencl`, `cpu` with an optional `:N` (default: the first usable of that kind),
    /// or null/`auto` for the default. Throws <see cref="DeviceSelectionException"/> with one clear line.
    /// </summary>
    public DeviceInfo Resolve(string? spec)
    {
        if (string.IsNullOrWhiteSpace(spec) || spec.Equals("auto", StringComparison.OrdinalIgnoreCase))
            return Default;
        var parts = spec.Trim().ToLowerInvariant().Split(':');
        DeviceKind kind = parts[0] switch
        {
            "cuda" => DeviceKind.Cuda,
            "opencl" or "cl" => DeviceKind.OpenCL,
            "cpu" => DeviceKind.Cpu,
            _ => throw new DeviceSelectionException($"unknown device '{spec}': use cuda, opencl or cpu, optionally with :N"),
        };
        var ofKind = Devices.Where(d => d.Kind == kind).ToList();
        if (parts.Length > 2 || (parts.Length == 2 && !int.TryParse(parts[1], out _)))
            throw new DeviceSelectionException($"bad device '{spec}': the index after ':' must be a number");
        if (parts.Length == 2)
        {
            int index = int.Parse(parts[1]);
            var match = ofKind.FirstOrDefault(d => d.Index == index)
                ?? throw new DeviceSelectionException(ofKind.Count == 0
                    ? $"no {kind} device found (see 'ilgpustyle devices')"
                    : $"no {kind} device {index}: there {(ofKind.Count == 1 ? "is 1" : $"are {ofKind.Count}")} (indices 0..{ofKind.Count - 1})");
            if (!match.Usable)
                throw new DeviceSelectionException($"{match.Id} ({match.Name}) is not usable: {match.WhyNotUsable}");
            return match;
        }
        return ofKind.FirstOrDefault(d => d.Usable)
            ?? throw new DeviceSelectionException(ofKind.Count == 0
                ? $"no {kind} device found (see 'ilgpustyle devices')"
                : $"no usable {kind} device: {ofKind[0].WhyNotUsable}");
    }

    /// <summary>Opens a device for computation.</summary>
    public ComputeDevice Open(DeviceInfo info)
    {
        if (!info.Usable) throw new DeviceSelectionException($"{info.Id} ({info.Name}) is not usable: {info.WhyNotUsable}");
        return new ComputeDevice(info, info.IlgpuDevice!.CreateAccelerator(context));
    }

    public ComputeDevice Open(string? spec) => Open(Resolve(spec));

    public void Dispose() => context.Dispose();
}

/// <summary>A device that does not exist or cannot be used; the message is one line for the user.</summary>
public sealed class DeviceSelectionException(string message) : Exception(message);
