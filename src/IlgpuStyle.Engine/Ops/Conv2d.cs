using IlgpuStyle.Devices;
using IlgpuStyle.Kernels;
using IlgpuStyle.Tensors;

namespace IlgpuStyle.Ops;

/// <summary>Convolution (kernels/Conv2d.cs): forward with fused bias and ReLU, and its three backward passes.</summary>
public static partial class Op
{
    /// <summary>The geometry of x ⊛ w with the given stride and padding; checks that the shapes fit.</summary>
    public static Conv2dGeometry ConvGeometry(string op, Shape4 x, Shape4 w, int stride, int pad)
    {
        if (x.C != w.C)
            throw new ArgumentException($"{op}: input {x} has {x.C} channels but weights {w} expect {w.C}");
        if (stride is not (1 or 2))
            throw new ArgumentException($"{op}: stride {stride} is not supported (1 or 2)");
        if (pad < 0)
            throw new ArgumentException($"{op}: negative padding {pad}");
        var g = new Conv2dGeometry(x.N, x.C, x.H, x.W, w.N, w.H, w.W, stride, pad);
        if (x.H + 2 * pad < w.H || x.W + 2 * pad < w.W)
            throw new ArgumentException($"{op}: input {x} with padding {pad} is smaller than the {w.H}×{w.W} kernel of weights {w}");
        return g;
    }

    public static Shape4 ConvOutputShape(Conv2dGeometry g) => new(g.N, g.OutC, g.OutH, g.OutW);

    /// <summary>The variants of the weight gradient: a GEMM or the naive loop (no direct kernel: only tests and learners need it).</summary>
    public static readonly KernelVariant[] ConvWeightsGradientVariants = { KernelVariant.Naive, KernelVariant.Blocked, KernelVariant.Tiled };

    /// <summary>
    /// Whether a variant of the forward pass and input gradient has a kernel for this geometry: Direct needs stride 1 and padding
    /// below the filter size, Rows also a 3×3 filter; the GEMM and naive variants take every geometry.
    /// </summary>
    public static bool ConvSupports(KernelVariant variant, Conv2dGeometry g)
    {
        bool direct = g.Stride == 1 && g.Pad <= g.KH - 1 && g.Pad <= g.KW - 1;
        return variant switch
        {
            KernelVariant.Direct => direct,
            KernelVariant.Rows => direct && g.KH == 3 && g.KW == 3,
            KernelVariant.Winograd => g.Stride == 1 && g.Pad == 1 && g.KH == 3 && g.KW == 3,
            _ => true,
        };
    }

    /// <summary>
    /// The variant to run: the one asked for, refused (one clear message) where it has no kernel for this geometry; or the
    /// device's default, which falls back to Direct (other filters than 3×3 for Rows) or Tiled (stride 2) where it has none.
    /// </summary>
    static KernelVariant Pick(string op, KernelVariant? variant, KernelVariant deviceDefault, Conv2dGeometry g)
    {
        if (variant is { } asked)
        {
            if (!ConvSupports(asked, g))
                throw new ArgumentException($"{op}: the {asked} variant has no kernel for a {g.KH}×{g.KW} filter with stride {g.Stride} and padding {g.Pad}" +
                    (asked switch
                    {
                        KernelVariant.Rows => " (it needs 3×3, stride 1)",
                        KernelVariant.Winograd => " (it needs 3×3, stride 1, padding 1)",
                        _ => " (it needs stride 1 and padding below the filter size)",
                    }));
            return asked;
        }
        if (ConvSupports(deviceDefault, g)) return deviceDefault;
        return ConvSupports(KernelVariant.Direct, g) && deviceDefault is KernelVariant.Rows or KernelVariant.Winograd ? KernelVariant.Direct : KernelVariant.Tiled;
    }

    /// <summary>Pixels per group of the Rows variant: one AVX-512 vector of floats.</summary>
    const int RowGroupWidth = 16;

    /// <summary>
    /// Pads `x` into the padded-input scratch and lays `w` out for the kernel (kept for frozen weights), then runs the direct kernel (kernels/Conv2dDirect.cs):
    /// for 3×3 filters 32 channels × 8 pixels per thread on CPU devices where there are 32 channels or more, else 16 channels ×
    /// 4 pixels (8 where rows are at most 32 wide: measured faster there on PoCL), or groups along rows (rows = true); other
    /// filters one pixel per thread.
    /// </summary>
    static void LaunchDirect(ComputeDevice d, string name, bool rows, DirectTile tile, Tensor x, Tensor? mask, int padH, int padW, Tensor w, int inC, int outC, int kh, int kw,
        WeightLayout layout, ArrayView<float> bias, ArrayView<float> y, int flags, long flops, long bytes)
    {
        var s = x.Shape;
        int ph = s.H + 2 * padH, pw = s.W + 2 * padW;
        bool threeByThree = kh == 3 && kw == 3 && !rows;
        bool wide = threeByThree && tile == DirectTile.Wide32x8;
        int block = wide ? Conv2dDirect.WideBlock : Conv2dDirect.ChannelBlock;
        int outCPadded = (outC + block - 1) / block * block;
        // The 3×3 kernels compute up to a group's width (or 8 pixels) past each row's end and drop them: their reads may run past xp.
        long slack = RowGroupWidth + kw;
        var xpWithSlack = d.Memory.Scratch(ScratchBuffer.PaddedInput, (long)s.N * s.C * ph * pw + slack);
        var xp = xpWithSlack.SubView(0, (long)s.N * s.C * ph * pw);
        long wtLength = (long)inC * kh * kw * outCPadded;
        var pad1 = d.Kernel(Conv2dDirect.Pad, a => a.LoadAutoGroupedStreamKernel<Index1D, int, int, int, int, int, ArrayView<float>, ArrayView<float>, PadMode,
            ArrayView<float>>(Conv2dDirect.Pad));
        int threads = d.StrideThreadsFor((long)s.N * s.C * ph);
        using (d.Launch(mask is null ? "conv2d_pad" : "conv2d_pad_relu_mask", 0, ((mask is null ? 1 : 2) * x.Length + xp.Length) * sizeof(float)))
            pad1(threads, threads, s.H, s.W, padH, padW, x.View, (mask ?? x).View, mask is null ? PadMode.Copy : PadMode.ReluMask, xp);
        void Transpose(ArrayView<float> wt) => d.Stride(Conv2dDirect.TransposeWeights, wt.Length, 0, (w.Length + wt.Length) * sizeof(float),
            inC, outC, outCPadded, kh, kw, layout, w.View, wt);
        // Frozen weights (VGG19 during a transfer) are transposed once and kept; others every call.
        ArrayView<float> wt;
        // The layout depends on the channel block too (16 or 32 padded), so both are in its key.
        if (w.Frozen) wt = d.Memory.Derived(w, DerivedForm(layout, wide, null), wtLength, Transpose);
        else { wt = d.Memory.Scratch(ScratchBuffer.TransposedWeights, wtLength); Transpose(wt); }
        var g = new DirectConvGeometry
        {
            N = s.N, InC = s.C, PaddedH = ph, PaddedW = pw, OutC = outC, OutCPadded = outCPadded,
            OutH = ph - kh + 1, OutW = pw - kw + 1, KH = kh, KW = kw,
        };
        if (g.OutPixels == 0) return;
        int channelBlocks = s.N * outCPadded / block;
        if (kh == 3 && kw == 3 && rows)
        {
            var rowKernel = d.Kernel(Conv2dDirect.ForwardRows, a => a.LoadStreamKernel<DirectConvGeometry, ArrayView<float>, ArrayView<float>,
                ArrayView<float>, ArrayView<float>, int>(Conv2dDirect.ForwardRows));
            int width = Math.Min(RowGroupWidth, d.Accelerator.MaxNumThreadsPerGroup);
            int tiles = (g.OutW + width - 1) / width;
            var config = new KernelConfig(new Index2D(tiles * g.OutH, channelBlocks), new Index2D(width, 1));
            using (d.Launch(name + "_rows", flops, bytes)) rowKernel(config, g, xpWithSlack, wt, bias, y, flags);
        }
        else if (kh == 3 && kw == 3)
        {
            bool eight = wide || tile == DirectTile.Px8;
            var blocked = wide
                ? d.Kernel(Conv2dDirect.Forward32x8, a => a.LoadStreamKernel<DirectConvGeometry, ArrayView<float>, ArrayView<float>,
                    ArrayView<float>, ArrayView<float>, int, int>(Conv2dDirect.Forward32x8))
              : eight
                ? d.Kernel(Conv2dDirect.Forward8Pixels, a => a.LoadStreamKernel<DirectConvGeometry, ArrayView<float>, ArrayView<float>,
                    ArrayView<float>, ArrayView<float>, int, int>(Conv2dDirect.Forward8Pixels))
                : d.Kernel(Conv2dDirect.Forward4Pixels, a => a.LoadStreamKernel<DirectConvGeometry, ArrayView<float>, ArrayView<float>,
                    ArrayView<float>, ArrayView<float>, int, int>(Conv2dDirect.Forward4Pixels));
            int perThread = eight ? 8 : 4, group = Math.Min(16, d.Accelerator.MaxNumThreadsPerGroup);
            int blockCount = (g.OutW + perThread - 1) / perThread * g.OutH;
            var config = new KernelConfig(new Index2D((blockCount + group - 1) / group, channelBlocks), new Index2D(group, 1));
            using (d.Launch(name + (wide ? "_32x8" : eight ? "_8px" : "_4px"), flops, bytes))
                blocked(config, g, xpWithSlack, wt, bias, y, flags, d.DirectChannelsPerBarrier ?? s.C);
        }
        else
        {
            var direct = d.Kernel(Conv2dDirect.Forward, a => a.LoadImplicitlyGroupedStreamKernel<Index2D, DirectConvGeometry, ArrayView<float>, ArrayView<float>,
                ArrayView<float>, ArrayView<float>, int>(Conv2dDirect.Forward, Math.Min(32, a.MaxNumThreadsPerGroup)), plain: false);
            using (d.Launch(name, flops, bytes))
                direct(new Index2D(g.OutPixels, channelBlocks), g, xp, wt, bias, y, flags);
        }
    }

    /// <summary>The key under which a frozen filter's layout for one kernel is kept: per pass, and per channel block (16 or
    /// 32 padded) for Direct; per pass and tile for Winograd.</summary>
    static int DerivedForm(WeightLayout layout, bool wide, WinogradTile? winograd) =>
        winograd is { } t ? 16 + 8 * (int)layout + (int)t : 2 * (int)layout + (wide ? 1 : 0);

    static int DerivedForm(ConvKernel k, WeightLayout layout) => DerivedForm(layout, k.Tile == DirectTile.Wide32x8, k.Winograd);

    /// <summary>Whether the tuner times Winograd for this 3×3 convolution (the variant not asked for): where the shape allows it
    /// and it can win, with channels in and out enough to amortize its transforms and at least one full block of 16 tiles
    /// (fewer are padded to 16 in its product).</summary>
    public static bool TunesWinograd(ComputeDevice d, Conv2dGeometry g)
    {
        int side = d.Policy.WinogradTile.OutputTile();
        long tiles = (long)g.N * ((g.InH + side - 1) / side) * ((g.InW + side - 1) / side);
        return ConvSupports(KernelVariant.Winograd, g) && Math.Min(g.InC, g.OutC) >= 16 && tiles >= WinogradGeometry.TileBlock;
    }

    /// <summary>What the tuner times for a 3×3 convolution: the Direct tiles, and where Winograd is timed (<see cref="TunesWinograd"/>)
    /// Winograd with the policy's F and both product blocks (the same bits; which is faster differs by shape).</summary>
    public static List<ConvKernel> TunerCandidates(ComputeDevice d, bool winograd)
    {
        var candidates = Enum.GetValues<DirectTile>().Select(ConvKernel.Direct).ToList();
        if (winograd)
            candidates.AddRange(Enum.GetValues<WinogradTile>().Where(t => t.OutputTile() == d.Policy.WinogradTile.OutputTile()).Select(ConvKernel.Of));
        return candidates;
    }

    /// <summary>The tuner's key of a 3×3 convolution's pass: its channels and padded input (of the transposed problem for the
    /// input gradient); a choice among the Direct tiles alone (a Direct asked for by name, or a shape Winograd cannot win)
    /// is kept apart, so that it never hides Winograd from the default's.</summary>
    public static string TunerKey(Conv2dGeometry g, bool inputGradient, bool withWinograd)
    {
        int inC = inputGradient ? g.OutC : g.InC, outC = inputGradient ? g.InC : g.OutC;
        int ph = inputGradient ? g.OutH + 2 * (g.KH - 1 - g.Pad) : g.InH + 2 * g.Pad, pw = inputGradient ? g.OutW + 2 * (g.KW - 1 - g.Pad) : g.InW + 2 * g.Pad;
        return TileTuner.Key(inputGradient, inC, outC, ph, pw) + (withWinograd ? "" : " direct");
    }

    /// <summary>
    /// The kernel that runs a Direct, Rows or Winograd convolution (forward, or input gradient): the lab's forced tile; on a
    /// device whose policy autotunes, for 3×3 filters, the fastest of the Direct tiles and, where the variant is the device's
    /// default (not asked for) and the shape allows, Winograd with the policy's F (both product blocks) (<see cref="TileTuner"/>: each candidate
    /// launched into a buffer of its own, unobserved, the first time a shape runs); else the policy's tile.
    /// `launchInto` runs the convolution with a kernel into an output view.
    /// </summary>
    static ConvKernel KernelFor(ComputeDevice d, KernelVariant v, bool asked, bool inputGradient, Conv2dGeometry g, Tensor w, long outputLength,
        Action<ConvKernel, ArrayView<float>> launchInto)
    {
        if (v == KernelVariant.Rows) return ConvKernel.All.First(k => k.Variant == KernelVariant.Rows);
        if (v == KernelVariant.Winograd) return ConvKernel.Of(d.WinogradTileOverride ?? d.Policy.WinogradTile);
        int outC = inputGradient ? g.InC : g.OutC, outW = inputGradient ? g.InW : g.OutW;
        if (d.DirectTileOverride is { } forced) return ConvKernel.Direct(forced);
        if (g.KH != 3 || g.KW != 3 || !d.Policy.AutotuneDirectTiles) return ConvKernel.Direct(d.Policy.TileFor(outC, outW));
        bool winograd = !asked && TunesWinograd(d, g);
        var candidates = TunerCandidates(d, winograd);
        var compiled = new HashSet<ConvKernel>();
        var chosen = d.Tiles.For(TunerKey(g, inputGradient, winograd), candidates, Time, out bool timed, d.Startup);
        // The tuner made a frozen filter's layout for every candidate: the ones not chosen are let go.
        var layout = inputGradient ? WeightLayout.InputGradient : WeightLayout.Forward;
        if (timed && w.Frozen)
            foreach (var form in candidates.Select(k => DerivedForm(k, layout)).Distinct().Where(f => f != DerivedForm(chosen, layout)))
                d.Memory.ForgetDerived(w, form);
        return chosen;

        double Time(ConvKernel candidate)
        {
            var (observer, log) = (d.Observer, d.LaunchLog);
            (d.Observer, d.LaunchLog) = (null, null);
            var scratchOut = d.Memory.Allocate(outputLength);
            try
            {
                void Once() => launchInto(candidate, scratchOut.View);
                if (compiled.Add(candidate)) Once();   // compiles the kernels on their first use
                return Timing.Repeat(d, 1, Once)[0];
            }
            finally
            {
                d.Memory.Release(scratchOut.Length);
                scratchOut.Dispose();
                (d.Observer, d.LaunchLog) = (observer, log);
            }
        }
    }

    /// <summary>
    /// Whether a stride-2 convolution runs as its stride-1 one on the fast kernels (forward: every other pixel of it; input
    /// gradient: of the output gradient spread onto the stride-1 grid), where the device's default is Direct or Winograd
    /// (CPU devices) and no variant was asked for. It computes 4× the products but at the tuned kernels' rate: on PoCL the
    /// GEMM variants ran ResNet18's stride-2 input gradients at 0.1–1.5 GFLOP/s.
    /// </summary>
    static bool StridedThroughStrideOne(ComputeDevice d, KernelVariant? variant, Conv2dGeometry g) =>
        variant is null && g.Stride > 1 && d.ConvVariant is KernelVariant.Direct or KernelVariant.Winograd
        && ConvSupports(KernelVariant.Direct, StrideOne(g));

    static Conv2dGeometry StrideOne(Conv2dGeometry g) => new(g.N, g.InC, g.InH, g.InW, g.OutC, g.KH, g.KW, 1, g.Pad);

    static StridedGeometry Strided(Conv2dGeometry g, Conv2dGeometry g1, int channels) => new()
    {
        Planes = g.N * channels, OutH = g.OutH, OutW = g.OutW, FullH = g1.OutH, FullW = g1.OutW, S = g.Stride,
    };

    /// <summary>The forward pass on a Direct, Rows or Winograd kernel (the tuner's choice where it decides) into `output`.</summary>
    static void ForwardFast(ComputeDevice d, KernelVariant v, bool asked, Conv2dGeometry g, Tensor x, Tensor w, Tensor bias, bool relu,
        ArrayView<float> output, long bytes)
    {
        int flags = Conv2dDirect.UseBias | (relu ? Conv2dDirect.Relu : 0);
        void Run(ConvKernel k, ArrayView<float> into)
        {
            if (k.Winograd is { } tile)
                LaunchWinograd(d, "conv2d_fwd", tile, x, null, w, g.InC, g.OutC, WeightLayout.Forward, bias.View, into, flags);
            else
                LaunchDirect(d, "conv2d_fwd_direct", k.Variant == KernelVariant.Rows, k.Tile ?? d.Policy.TileFor(g.OutC, g.OutW), x, null, g.Pad, g.Pad, w,
                    g.InC, g.OutC, g.KH, g.KW, WeightLayout.Forward, bias.View, into, flags, g.ForwardFlops, bytes);
        }
        Run(KernelFor(d, v, asked, false, g, w, output.Length, Run), output);
    }

    /// <summary>The input gradient on a Direct, Rows or Winograd kernel, accumulated into `gradIn` (stride 1).</summary>
    static void BackwardInputFast(ComputeDevice d, KernelVariant v, bool asked, Conv2dGeometry g, Tensor w, Tensor gradOut, Tensor? reluOutput,
        ArrayView<float> gradIn, long bytes)
    {
        // dx = stride-1 convolution of dy·[y > 0] (padded by K−1−P) with the flipped, transposed filters, in and out swapped.
        void Run(ConvKernel k, ArrayView<float> into)
        {
            if (k.Winograd is { } tile)
                LaunchWinograd(d, "conv2d_bwd_input", tile, gradOut, reluOutput, w, g.OutC, g.InC, WeightLayout.InputGradient, w.View, into,
                    Conv2dDirect.Accumulate);
            else
                LaunchDirect(d, "conv2d_bwd_input_direct", k.Variant == KernelVariant.Rows, k.Tile ?? d.Policy.TileFor(g.InC, g.InW), gradOut, reluOutput,
                    g.KH - 1 - g.Pad, g.KW - 1 - g.Pad, w, g.OutC, g.InC, g.KH, g.KW, WeightLayout.InputGradient, w.View, into, Conv2dDirect.Accumulate,
                    g.ForwardFlops, bytes);
        }
        Run(KernelFor(d, v, asked, true, g, w, gradIn.Length, Run), gradIn);
    }

    /// <summary>y = conv(x, w) + b, then ReLU if asked. y is overwritten.</summary>
    public static void Conv2dForward(Tensor x, Tensor w, Tensor bias, Tensor y, int stride, int pad, bool relu,
        KernelVariant? variant = null)
    {
        const string op = "Conv2dForward";
        var g = ConvGeometry(op, x.Shape, w.Shape, stride, pad);
        Check.Shape(op, bias, Shape4.Vector(g.OutC), "bias");
        Check.Shape(op, y, ConvOutputShape(g), "output");
        Check.SameDevice(op, x, w); Check.SameDevice(op, x, bias); Check.SameDevice(op, x, y);
        var d = x.Device;
        long bytes = (x.Length + w.Length + y.Length) * sizeof(float);
        if (StridedThroughStrideOne(d, variant, g))
        {
            // Every S-th pixel of the stride-1 convolution, which runs on the device's fast (tuned) kernels.
            var g1 = StrideOne(g);
            var full = d.Memory.Scratch(ScratchBuffer.StridedFull, (long)g.N * g.OutC * g1.OutH * g1.OutW);
            ForwardFast(d, Pick(op, null, d.ConvVariant, g1), false, g1, x, w, bias, relu, full, bytes);
            var sg = Strided(g, g1, g.OutC);
            if (y.Length > 0) d.Stride(Conv2dStrided.Subsample, y.Length, 0, 2 * y.Length * sizeof(float), sg, full, y.View);
            return;
        }
        var v = Pick(op, variant, d.ConvVariant, g);
        if (v is KernelVariant.Direct or KernelVariant.Rows or KernelVariant.Winograd)
        {
            if (y.Length > 0) ForwardFast(d, v, variant is not null, g, x, w, bias, relu, y.View, bytes);
            return;
        }
        if (v == KernelVariant.Naive)
        {
            d.Grid(Conv2d.ForwardNaive, y.Length, g.ForwardFlops, bytes, g, x.View, w.View, bias.View, y.View, relu ? Activation.Relu : Activation.None);
            return;
        }
        LaunchGemm(d, v, "conv2d_fwd", bytes,
            new GemmSize(g.OutC, g.OutPixels, g.FilterSize, g.N),
            new ConvWeightsOperand { W = w.View, FilterSize = g.FilterSize },
            new Im2ColOperand { X = x.View, G = g },
            new ConvForwardOutput { Y = y.View, Bias = bias.View, OutC = g.OutC, OutPixels = g.OutPixels, Activation = relu ? Activation.Relu : Activation.None });
    }

    /// <summary>
    /// gradIn += dL/dx given gradOut = dL/dy (of the convolution, before any ReLU). With reluOutput, gradOut is the gradient
    /// of the ReLU's output instead, and dy = gradOut·[reluOutput &gt; 0]: the Direct variants apply that mask while they pad
    /// (gradOut unchanged), the others mask gradOut in place first.
    /// </summary>
    public static void Conv2dBackwardInput(Tensor w, Tensor gradOut, Tensor gradIn, int stride, int pad,
        KernelVariant? variant = null, Tensor? reluOutput = null)
    {
        const string op = "Conv2dBackwardInput";
        var g = ConvGeometry(op, gradIn.Shape, w.Shape, stride, pad);
        Check.Shape(op, gradOut, ConvOutputShape(g), "output gradient");
        Check.SameDevice(op, w, gradOut); Check.SameDevice(op, w, gradIn);
        if (reluOutput is not null) { Check.SameShape(op, gradOut, reluOutput); Check.SameDevice(op, w, reluOutput); }
        var d = w.Device;
        long bytes = (gradIn.Length * 2 + w.Length + gradOut.Length) * sizeof(float);
        if (StridedThroughStrideOne(d, variant, g) && g.InC <= Conv2dStridedInputGradient.MaxChannels)
        {
            // Few input channels (the image): gathered with only the taps that exist, four pixels of a row and phase per thread.
            if (reluOutput is not null) ReluMask(reluOutput, gradOut);
            long threads = (long)g.N * g.InH * g.Stride * Conv2dStridedInputGradient.Blocks(g);
            d.Stride(Conv2dStridedInputGradient.Gather, threads, g.ForwardFlops, bytes, g, w.View, gradOut.View, gradIn.View);
            return;
        }
        if (StridedThroughStrideOne(d, variant, g))
        {
            // The output gradient (masked by the ReLU) spread onto the stride-1 grid, zeros between; then the stride-1 input gradient.
            var g1 = StrideOne(g);
            var sg = Strided(g, g1, g.OutC);
            var fullShape = new Shape4(g.N, g.OutC, g1.OutH, g1.OutW);
            var full = d.Memory.Scratch(ScratchBuffer.StridedFull, fullShape.Length);
            d.Stride(Conv2dStrided.Dilate, (long)sg.Planes * sg.FullH, 0, (fullShape.Length + 2 * gradOut.Length) * sizeof(float), sg, gradOut.View,
                (reluOutput ?? gradOut).View, reluOutput is null ? 0 : 1, full);
            using var spread = Tensor.Over(d, fullShape, full, gradOut.Name + "_spread");
            if (gradIn.Length > 0) BackwardInputFast(d, Pick(op, null, d.ConvVariant, g1), false, g1, w, spread, null, gradIn.View, bytes);
            return;
        }
        var v = Pick(op, variant, d.ConvVariant, g);
        if (v is KernelVariant.Direct or KernelVariant.Rows or KernelVariant.Winograd)
        {
            if (gradIn.Length > 0) BackwardInputFast(d, v, variant is not null, g, w, gradOut, reluOutput, gradIn.View, bytes);
            return;
        }
        if (reluOutput is not null) ReluMask(reluOutput, gradOut);
        if (v == KernelVariant.Naive)
        {
            d.Grid(Conv2d.BackwardInputNaive, gradIn.Length, g.ForwardFlops, bytes, g, w.View, gradOut.View, gradIn.View);
            return;
        }
        LaunchGemm(d, v, "conv2d_bwd_input", bytes,
            new GemmSize(g.InC, g.InPixels, g.OutC * g.KH * g.KW, g.N),
            new ConvWeightsTransposedOperand { W = w.View, G = g },
            new OutputGradientColumnsOperand { GradOut = gradOut.View, G = g },
            new AccumulateOutput { C = gradIn.View, M = g.InC, N = g.InPixels, Scale = 1f });
    }

    /// <summary>gradW += dL/dw.</summary>
    public static void Conv2dBackwardWeights(Tensor x, Tensor gradOut, Tensor gradW, int stride, int pad,
        KernelVariant? variant = null)
    {
        const string op = "Conv2dBackwardWeights";
        var g = ConvGeometry(op, x.Shape, gradW.Shape, stride, pad);
        Check.Shape(op, gradOut, ConvOutputShape(g), "output gradient");
        Check.SameDevice(op, x, gradOut); Check.SameDevice(op, x, gradW);
        var d = x.Device;
        long bytes = (x.Length + gradOut.Length + 2 * gradW.Length) * sizeof(float);
        if (variant is { } asked && !ConvWeightsGradientVariants.Contains(asked))
            throw new ArgumentException($"{op}: no {asked} variant (the weight gradient has {string.Join(", ", ConvWeightsGradientVariants)})");
        // The device's default where it has one; a device whose convolutions default to Direct or Rows takes the tiled GEMM.
        var v = variant ?? (ConvWeightsGradientVariants.Contains(d.ConvVariant) ? d.ConvVariant : KernelVariant.Tiled);
        if (v == KernelVariant.Naive)
        {
            d.Grid(Conv2d.BackwardWeightsNaive, gradW.Length, g.ForwardFlops, bytes, g, x.View, gradOut.View, gradW.View);
            return;
        }
        LaunchGemm(d, v, "conv2d_bwd_weights", bytes,
            new GemmSize(g.OutC, g.FilterSize, g.N * g.OutPixels, 1),
            new OutputGradientRowsOperand { GradOut = gradOut.View, OutC = g.OutC, OutPixels = g.OutPixels },
            new Im2ColTransposedOperand { Columns = new Im2ColOperand { X = x.View, G = g } },
            new AccumulateOutput { C = gradW.View, M = g.OutC, N = g.FilterSize, Scale = 1f });
    }

    /// <summary>gradBias += Σ over batch and pixels of gradOut.</summary>
    public static void Conv2dBackwardBias(Tensor gradOut, Tensor gradBias)
    {
        const string op = "Conv2dBackwardBias";
        Check.Shape(op, gradBias, Shape4.Vector(gradOut.Shape.C), "bias gradient");
        Check.SameDevice(op, gradOut, gradBias);
        var d = gradOut.Device;
        var s = gradOut.Shape;
        var g = new Conv2dGeometry(s.N, s.C, s.H, s.W, s.C, 1, 1, 1, 0);
        d.Grid(Conv2d.BackwardBias, s.C, gradOut.Length, gradOut.Length * sizeof(float), g, gradOut.View, gradBias.View);
    }
}
