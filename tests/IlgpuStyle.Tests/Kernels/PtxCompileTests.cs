using System.Reflection;
using ILGPU;
using ILGPU.Backends.EntryPoints;
using ILGPU.Backends.PTX;
using ILGPU.Runtime;
using ILGPU.Runtime.Cuda;
using IlgpuStyle.Kernels;
using IlgpuStyle.Tests.Transfer;

namespace IlgpuStyle.Tests.Kernels;

/// <summary>Every kernel of the kernels library compiles to PTX for Volta, Ampere and Hopper, no GPU needed.</summary>
public class PtxCompileTests(ITestOutputHelper output)
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
}

/// <summary>
/// The PTX test compiles <see cref="KernelCatalog"/>; this checks the catalog against what really runs. Real work on every
/// accelerator present (transfers with each convolution and Gram variant, both optimizers, masks and gradient
/// normalization; the benchmark iteration; every gradcheck case) loads kernels, and each kernel the device loaded, with
/// its generic instantiation, must be in the catalog: a kernel missing from it would never be compiled for CUDA here.
/// </summary>
[Collection(DeviceTests.Collection)]
public class KernelCatalogTests(IlgpuStyle.Tests.Transfer.TransferFixture images) : IClassFixture<IlgpuStyle.Tests.Transfer.TransferFixture>
{
    static string Key(MethodInfo m) => m.DeclaringType!.FullName + "." + m;

    [Theory, MemberData(nameof(Accelerators.All), MemberType = typeof(Accelerators))]
    public void EveryKernelThatRunsIsInTheCompiledCatalog(AcceleratorCase accelerator)
    {
        var d = Accelerators.Get(accelerator);
        var run = new IlgpuStyle.Transfer.StyleTransferOptions
        {
            ContentPath = images.Content, StylePaths = new[] { images.Stripes }, OutputPath = images.Output($"catalog_{accelerator.Kind}.png"),
            ImageSize = 16, Iterations = 1, WriteLossCurve = false, Optimizer = IlgpuStyle.Transfer.OptimizerKind.Adam,
        }.ToConv2();
        foreach (var conv in Enum.GetValues<IlgpuStyle.Devices.KernelVariant>())
            IlgpuStyle.Transfer.StyleTransfer.Run(run with { ConvVariant = conv }, d);
        foreach (var gram in IlgpuStyle.Ops.Op.GramVariants)
            IlgpuStyle.Transfer.StyleTransfer.Run(run with { GramVariant = gram }, d);
        IlgpuStyle.Transfer.StyleTransfer.Run(run with
        {
            StylePaths = new[] { images.Stripes, images.Dots }, ContentMasks = new[] { images.Stripes, images.Dots },
            StyleMasks = new[] { images.Dots, images.Stripes }, NormalizeGradients = true, Pooling = IlgpuStyle.Model.Pooling.Max,
        }, d);
        IlgpuStyle.Transfer.StyleTransfer.Run(run with { Optimizer = IlgpuStyle.Transfer.OptimizerKind.Lbfgs, Iterations = 2 }, d);
        IlgpuStyle.Profiling.IterationBenchmark.Run(d, 16, 1);
        foreach (var c in IlgpuStyle.Diagnostics.GradCheck.StandardCases(1)) IlgpuStyle.Diagnostics.GradCheck.Check(d, c);

        var catalog = KernelCatalog.All().Select(k => Key(k.Method)).ToHashSet();
        var loaded = d.LoadedKernels.Select(Key).ToList();
        Assert.True(loaded.Count >= 20, $"{accelerator}: only {loaded.Count} kernels loaded");
        var missing = loaded.Where(k => !catalog.Contains(k)).ToList();
        Assert.True(missing.Count == 0, $"{accelerator}: loaded but not in KernelCatalog (so never compiled to PTX): {string.Join("; ", missing)}");
    }
}
