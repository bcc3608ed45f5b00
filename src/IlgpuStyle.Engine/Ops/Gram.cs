using IlgpuStyle.Devices;
using IlgpuStyle.Kernels;
using IlgpuStyle.Tensors;

namespace IlgpuStyle.Ops;

/// <summary>The Gram matrix G = s·F·Fᵀ and its backward (kernels/Gram.cs).</summary>
public static partial class Op
{
    public static Shape4 GramShape(Shape4 features) => new(features.N, 1, features.C, features.C);

    /// <summary>2·N·C²·(H·W): the multiply-adds of F·Fᵀ counted in full (forward, and the backward's (dG + dGᵀ)·F), whatever
    /// a kernel skips by symmetry.</summary>
    public static long GramFlops(Shape4 features) => 2L * features.N * features.C * features.C * features.H * features.W;

    /// <summary>The Gram matrix's variants (it has no Direct one).</summary>
    public static readonly KernelVariant[] GramVariants = { KernelVariant.Naive, KernelVariant.Blocked, KernelVariant.Tiled, KernelVariant.Rows };

    static KernelVariant PickGram(string op, KernelVariant? variant, KernelVariant deviceDefault) =>
        variant is { } asked && !GramVariants.Contains(asked)
            ? throw new ArgumentException($"{op}: no {asked} variant (the Gram matrix has {string.Join(", ", GramVariants)})")
            : variant ?? deviceDefault;

    /// <summary>gram = scale · F·Fᵀ per image, F = features as C × (H·W). Overwrites gram.</summary>
    public static void GramForward(Tensor features, Tensor gram, float scale, KernelVariant? variant = null)
    {
        const string op = "GramForward";
        Check.Shape(op, gram, GramShape(features.Shape), "Gram matrix");
        Check.SameDevice(op, features, gram);
        var d = features.Device;
        var s = features.Shape;
        int c = s.C, m = s.H * s.W;
        long bytes = (features.Length + gram.Length) * sizeof(float);
        var v = PickGram(op, variant, d.GramVariant);
        if (v == KernelVariant.Rows)
        {
            // Ft = F transposed to (N, M, cPad) in scratch slot 2, then one triangle of 16×16 blocks.
            int cPad = (c + Gram.Block - 1) / Gram.Block * Gram.Block, blocks = cPad / Gram.Block;
            var ft = d.Memory.Scratch(ScratchBuffer.TransposedFeatures, (long)s.N * m * cPad);
            if (gram.Length == 0) return;
            long transposeBlocks = (long)s.N * ((m + Gram.Block - 1) / Gram.Block) * blocks;
            d.Stride(Gram.TransposeFeatures, transposeBlocks, 0, (features.Length + ft.Length) * sizeof(float), s.N, c, cPad, m, features.View, ft);
            // One triangle of 16×16 blocks, the sum over pixels split into slices (partial blocks), then the slices added.
            int pairs = blocks * (blocks + 1) / 2, slices = Math.Max(1, (m + Gram.SliceSteps - 1) / Gram.SliceSteps);
            var partials = d.Memory.Scratch(ScratchBuffer.GramPartials, (long)slices * s.N * pairs * Gram.Block * Gram.Block);
            // A whole 16×16 block per thread, or a quarter of one where the device's vectors are narrow (DevicePolicy.NarrowSumBlocks, ComputeDevice.NarrowSumBlocks).
            bool narrow = d.NarrowSumBlocks;
            var sliced = narrow
                ? d.Kernel(Gram.ForwardBlocks4x16, a => a.LoadStreamKernel<int, int, int, int, ArrayView<float>, ArrayView<float>>(Gram.ForwardBlocks4x16))
                : d.Kernel(Gram.ForwardBlocks, a => a.LoadStreamKernel<int, int, int, int, ArrayView<float>, ArrayView<float>>(Gram.ForwardBlocks));
            int threads = narrow ? 4 * pairs : pairs;
            int group = Math.Min(Math.Min(16, threads), d.Accelerator.MaxNumThreadsPerGroup);
            var config = new KernelConfig(new Index2D((threads + group - 1) / group, slices * s.N), new Index2D(group, 1));
            using (d.Launch(narrow ? "gram_fwd_blocks_4x16" : "gram_fwd_blocks", 2L * s.N * m * pairs * Gram.Block * Gram.Block, (ft.Length + partials.Length) * sizeof(float)))
                sliced(config, s.N, cPad, m, pairs, ft, partials);
            var sum = d.Kernel(Gram.SumSlices, a => a.LoadAutoGroupedStreamKernel<Index1D, int, int, int, int, int, float, ArrayView<float>, ArrayView<float>>(Gram.SumSlices));
            using (d.Launch("gram_fwd_slices", partials.Length, (partials.Length + gram.Length) * sizeof(float)))
                sum((int)((long)s.N * pairs * Gram.Block * Gram.Block), s.N, c, cPad, pairs, slices, scale, partials, gram.View);
            return;
        }
        if (v == KernelVariant.Naive)
        {
            d.Grid(Gram.ForwardNaive, gram.Length, GramFlops(s), bytes, c, m, scale, features.View, gram.View);
            return;
        }
        LaunchGemm(d, v, "gram_fwd", bytes, new GemmSize(c, c, m, s.N),
            new FeatureRowsOperand { F = features.View, C = c, M = m },
            new FeatureColumnsOperand { F = features.View, C = c, M = m },
            new OverwriteOutput { C = gram.View, M = c, N = c, Scale = scale });
    }

    /// <summary>gradFeatures += scale · (dG + dGᵀ)·F.</summary>
    public static void GramBackward(Tensor features, Tensor gradGram, Tensor gradFeatures, float scale, KernelVariant? variant = null)
    {
        const string op = "GramBackward";
        Check.Shape(op, gradGram, GramShape(features.Shape), "Gram gradient");
        Check.SameShape(op, features, gradFeatures);
        Check.SameDevice(op, features, gradGram);
        var d = features.Device;
        var s = features.Shape;
        int c = s.C, m = s.H * s.W;
        long bytes = (2 * features.Length + gradGram.Length + gradFeatures.Length) * sizeof(float);
        var v = PickGram(op, variant, d.GramVariant);
        if (v == KernelVariant.Rows)
        {
            // S = scale·(dG + dGᵀ) as (N, C, cPad) in scratch slot 3, then dF += S·F, 32 channels × 8 pixels per thread.
            int cPad = (c + Gram.BackwardBlock - 1) / Gram.BackwardBlock * Gram.BackwardBlock, blocks = cPad / Gram.BackwardBlock;
            var sym = d.Memory.Scratch(ScratchBuffer.SymmetricGramGradient, (long)s.N * c * cPad);
            bool narrow = d.NarrowSumBlocks;   // 16 channels × 4 pixels per thread rather than 32 × 8
            var rows = narrow
                ? d.Kernel(Gram.BackwardRows16x4, a => a.LoadStreamKernel<int, int, int, ArrayView<float>, ArrayView<float>, ArrayView<float>>(Gram.BackwardRows16x4))
                : d.Kernel(Gram.BackwardRows, a => a.LoadStreamKernel<int, int, int, ArrayView<float>, ArrayView<float>, ArrayView<float>>(Gram.BackwardRows));
            if (features.Length == 0) return;
            d.Stride(Gram.SymmetrizeGradient, sym.Length, 3 * sym.Length, (gradGram.Length * 2 + sym.Length) * sizeof(float), c, cPad, scale, gradGram.View, sym);
            int pixels = narrow ? 4 : 8, quads = (m + pixels - 1) / pixels, group = Math.Min(16, d.Accelerator.MaxNumThreadsPerGroup);
            int channelBlocks = narrow ? cPad / Gram.Block : blocks;
            var config = new KernelConfig(new Index2D((quads + group - 1) / group, s.N * channelBlocks), new Index2D(group, 1));
            using (d.Launch(narrow ? "gram_bwd_rows_16x4" : "gram_bwd_rows", GramFlops(s), bytes)) rows(config, c, cPad, m, sym, features.View, gradFeatures.View);
            return;
        }
        if (v == KernelVariant.Naive)
        {
            d.Grid(Gram.BackwardNaive, features.Length, GramFlops(s), bytes, c, m, scale, features.View, gradGram.View, gradFeatures.View);
            return;
        }
        LaunchGemm(d, v, "gram_bwd", bytes, new GemmSize(c, m, c, s.N),
            new SymmetricGramGradientOperand { GradGram = gradGram.View, C = c },
            new FeatureOperand { F = features.View, C = c, M = m },
            new AccumulateOutput { C = gradFeatures.View, M = c, N = m, Scale = scale });
    }
}
