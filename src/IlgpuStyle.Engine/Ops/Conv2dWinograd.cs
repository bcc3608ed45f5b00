using IlgpuStyle.Devices;
using IlgpuStyle.Kernels;
using IlgpuStyle.Tensors;

namespace IlgpuStyle.Ops;

/// <summary>Winograd convolution F(m×m, 3×3) (kernels/Conv2dWinograd.cs): the launches of its four steps.</summary>
public static partial class Op
{
    /// <summary>
    /// Transforms `x` (masked by the ReLU output `mask` where given, for an input gradient) into V, multiplies it by the
    /// transformed filters U (kept for frozen weights, like the Direct layouts) and transforms the products back into y
    /// (bias, ReLU, accumulate as flags say). 3×3, stride 1, pad 1 on both passes.
    /// </summary>
    static void LaunchWinograd(ComputeDevice d, string name, WinogradTile tile, Tensor x, Tensor? mask, Tensor w, int inC, int outC,
        WeightLayout layout, ArrayView<float> bias, ArrayView<float> y, int flags)
    {
        var s = x.Shape;
        var g = new WinogradGeometry(tile.OutputTile(), s.N, inC, s.H, s.W, outC, tile.ChannelBlock());
        if (g.Tiles == 0) return;
        bool four = g.M == 4;
        string m = four ? "4x4" : "2x2";
        void TransformFilters(ArrayView<float> u)
        {
            var kernel = four
                ? d.Kernel(Conv2dWinograd.TransformFilters4x4, a => a.LoadAutoGroupedStreamKernel<Index1D, WinogradGeometry, WeightLayout, ArrayView<float>, ArrayView<float>>(Conv2dWinograd.TransformFilters4x4))
                : d.Kernel(Conv2dWinograd.TransformFilters2x2, a => a.LoadAutoGroupedStreamKernel<Index1D, WinogradGeometry, WeightLayout, ArrayView<float>, ArrayView<float>>(Conv2dWinograd.TransformFilters2x2));
            using (d.Launch("winograd_filters_" + m, 0, (w.Length + u.Length) * sizeof(float)))
                kernel(g.InC * g.OutCPadded, g, layout, w.View, u);
        }
        // F(4×4) on CPU devices: the input padded to whole tiles once (the ReLU mask applied), then transformed in runs of tiles.
        var maskView = (mask ?? x).View;
        var mode = mask is null ? PadMode.Copy : PadMode.ReluMask;
        bool runs = four && d.WinogradTransformRuns;
        ArrayView<float> xp = default;
        if (runs)
        {
            long padded = (long)s.N * inC * Conv2dWinograd.PaddedHeight(g) * Conv2dWinograd.PaddedWidth(g);
            xp = d.Memory.Scratch(ScratchBuffer.PaddedInput, padded);
            var pad = d.Kernel(Conv2dWinograd.PadToTiles, a => a.LoadAutoGroupedStreamKernel<Index1D, int, WinogradGeometry, ArrayView<float>,
                ArrayView<float>, PadMode, ArrayView<float>>(Conv2dWinograd.PadToTiles));
            int threads = d.StrideThreadsFor((long)s.N * inC * Conv2dWinograd.PaddedHeight(g));
            using (d.Launch(mask is null ? "winograd_pad" : "winograd_pad_relu_mask", 0, ((mask is null ? 1 : 2) * x.Length + padded) * sizeof(float)))
                pad(threads, threads, g, x.View, maskView, mode, xp);
        }
        // Frozen weights (VGG19 during a transfer) are transformed once and kept, per layout, tile and channel block.
        var uView = w.Frozen
            ? d.Memory.Derived(w, DerivedForm(layout, false, tile), g.FilterLength, TransformFilters)
            : Transformed(d.Memory.Scratch(ScratchBuffer.WinogradFilters, g.FilterLength), TransformFilters);
        // Chunks of tiles whose V and M fit the policy's budget: each chunk's V is read by the product right after the input
        // transform wrote it, and its M by the output transform, while they are still in the caches.
        long chunkBytes = d.Policy.WinogradChunkBytes;
        int perTile = g.Positions * (g.InCPadded + g.OutCPadded) * sizeof(float);
        const int B = WinogradGeometry.TileBlock;
        int chunk = (int)Math.Clamp(chunkBytes / perTile / B * B, B, (g.Tiles + B - 1) / B * B);
        var first = g.Chunk(0, Math.Min(chunk, g.Tiles));
        var v = d.Memory.Scratch(ScratchBuffer.WinogradInput, first.InputLength);
        var products = d.Memory.Scratch(ScratchBuffer.WinogradProducts, first.ProductLength);
        string multiplyName = name + "_winograd_" + m + "_" + tile.ChannelBlock() + "x16";
        for (int t0 = 0; t0 < g.Tiles; t0 += chunk)
        {
            var c = g.Chunk(t0, Math.Min(chunk, g.Tiles - t0));
            long tileBytes = (long)c.Count * c.M * c.M * sizeof(float);
            if (runs)
                TransformInputRuns(d, c, xp, v, c.InC * tileBytes);
            else
                TransformInput(d, c, x.View, maskView, mode, v, (mask is null ? 1 : 2) * c.InC * tileBytes);
            Multiply(d, multiplyName, tile.ChannelBlock(), c, uView, v, products);
            long outputBytes = c.ProductLength * sizeof(float) + ((flags & Conv2dWinograd.Accumulate) != 0 ? 2 : 1) * c.OutC * tileBytes;
            TransformOutput(d, runs, c, products, bias, y, flags, outputBytes);
        }
    }

    /// <summary>V of one chunk, one tile per thread (kernels/Conv2dWinograd.cs, TransformInput2x2/4x4), reading x as it is.</summary>
    static void TransformInput(ComputeDevice d, WinogradGeometry c, ArrayView<float> x, ArrayView<float> mask, PadMode mode, ArrayView<float> v, long inputBytes)
    {
        var kernel = c.M == 4
            ? d.Kernel(Conv2dWinograd.TransformInput4x4, a => a.LoadAutoGroupedStreamKernel<Index1D, WinogradGeometry, ArrayView<float>, ArrayView<float>, PadMode, ArrayView<float>>(Conv2dWinograd.TransformInput4x4))
            : d.Kernel(Conv2dWinograd.TransformInput2x2, a => a.LoadAutoGroupedStreamKernel<Index1D, WinogradGeometry, ArrayView<float>, ArrayView<float>, PadMode, ArrayView<float>>(Conv2dWinograd.TransformInput2x2));
        string name = "winograd_input_" + (c.M == 4 ? "4x4" : "2x2") + (mode == PadMode.ReluMask ? "_relu_mask" : "");
        using (d.Launch(name, 0, inputBytes + c.InputLength * sizeof(float)))
            kernel((int)((long)c.InC * c.TilesPadded), c, x, mask, mode, v);
    }

    /// <summary>V of one chunk of F(4×4), in runs of tiles over the padded input xp.</summary>
    static void TransformInputRuns(ComputeDevice d, WinogradGeometry c, ArrayView<float> xp, ArrayView<float> v, long inputBytes)
    {
        var kernel = d.Kernel(Conv2dWinograd.TransformInputRuns4x4, a => a.LoadAutoGroupedStreamKernel<Index1D, WinogradGeometry, ArrayView<float>, ArrayView<float>>(Conv2dWinograd.TransformInputRuns4x4));
        using (d.Launch("winograd_input_4x4_runs", 0, inputBytes + c.InputLength * sizeof(float)))
            kernel(c.InC * c.TileBlocks, c, xp, v);
    }

    /// <summary>M = U·V of one chunk, `block` (16, 8 or 4) output channels × 16 tiles per thread: groups of up to
    /// <see cref="DevicePolicy.WinogradProductGroup"/> threads along the tile blocks (one: no barriers), one row of groups per
    /// position and channel block.</summary>
    static void Multiply(ComputeDevice d, string name, int block, WinogradGeometry c, ArrayView<float> u, ArrayView<float> v, ArrayView<float> products)
    {
        var kernel = block switch
        {
            16 => d.Kernel(Conv2dWinograd.Multiply16x16, a => a.LoadStreamKernel<WinogradGeometry, ArrayView<float>, ArrayView<float>, ArrayView<float>, int>(Conv2dWinograd.Multiply16x16)),
            8 => d.Kernel(Conv2dWinograd.Multiply8x16, a => a.LoadStreamKernel<WinogradGeometry, ArrayView<float>, ArrayView<float>, ArrayView<float>, int>(Conv2dWinograd.Multiply8x16)),
            _ => d.Kernel(Conv2dWinograd.Multiply4x16, a => a.LoadStreamKernel<WinogradGeometry, ArrayView<float>, ArrayView<float>, ArrayView<float>, int>(Conv2dWinograd.Multiply4x16)),
        };
        // The 4-channel product runs along the channel blocks (a thread's V then stays in L1 for the next ones, its U a run of
        // 4·InC floats): along the tile blocks it read V once per 4 channels, and ran no faster than the 8-channel one.
        bool channelsFirst = block == 4;
        int along = channelsFirst ? c.Positions * c.OutCPadded / block : c.TileBlocks, across = channelsFirst ? c.TileBlocks : c.Positions * c.OutCPadded / block;
        int group = Math.Min(Math.Min(d.Policy.WinogradProductGroup, along), d.Accelerator.MaxNumThreadsPerGroup);
        var config = new KernelConfig(new Index2D((along + group - 1) / group, across), new Index2D(group, 1));
        using (d.Launch(name, c.MultiplyFlops, (u.Length + c.InputLength + c.ProductLength) * sizeof(float)))
            kernel(config, c, u, v, products, group == 1 ? c.InC : d.DirectChannelsPerBarrier ?? c.InC);
    }

    /// <summary>y (+)= Aᵀ M A of one chunk: in runs of tiles (F(4×4) on CPU devices) or one tile per thread.</summary>
    static void TransformOutput(ComputeDevice d, bool runs, WinogradGeometry c, ArrayView<float> products, ArrayView<float> bias, ArrayView<float> y, int flags,
        long outputBytes)
    {
        if (runs)
        {
            var kernel = d.Kernel(Conv2dWinograd.TransformOutputRuns4x4, a => a.LoadAutoGroupedStreamKernel<Index1D, WinogradGeometry, ArrayView<float>, ArrayView<float>, ArrayView<float>, int>(Conv2dWinograd.TransformOutputRuns4x4));
            using (d.Launch("winograd_output_4x4_runs", 0, outputBytes))
                kernel(c.OutC * c.TileBlocks, c, products, bias, y, flags);
            return;
        }
        var perTile = c.M == 4
            ? d.Kernel(Conv2dWinograd.TransformOutput4x4, a => a.LoadAutoGroupedStreamKernel<Index1D, WinogradGeometry, ArrayView<float>, ArrayView<float>, ArrayView<float>, int>(Conv2dWinograd.TransformOutput4x4))
            : d.Kernel(Conv2dWinograd.TransformOutput2x2, a => a.LoadAutoGroupedStreamKernel<Index1D, WinogradGeometry, ArrayView<float>, ArrayView<float>, ArrayView<float>, int>(Conv2dWinograd.TransformOutput2x2));
        using (d.Launch("winograd_output_" + (c.M == 4 ? "4x4" : "2x2"), 0, outputBytes))
            perTile((int)((long)c.OutC * c.Count), c, products, bias, y, flags);
    }

    static ArrayView<float> Transformed(ArrayView<float> buffer, Action<ArrayView<float>> fill)
    {
        fill(buffer);
        return buffer;
    }
}
