namespace IlgpuStyle.Devices;

/// <summary>
/// One kernel of a convolution's forward pass or input gradient, by the name `ilgpustyle kernels` shows and the tile tuner
/// caches: a variant, and for Direct its register tile, for Winograd its tile and product block.
/// </summary>
public readonly record struct ConvKernel(string Name, KernelVariant Variant, DirectTile? Tile = null, WinogradTile? Winograd = null)
{
    /// <summary>Every kernel, naive first: the lab's rows.</summary>
    public static readonly IReadOnlyList<ConvKernel> All = new ConvKernel[]
    {
        new("naive", KernelVariant.Naive), new("blocked", KernelVariant.Blocked), new("tiled", KernelVariant.Tiled),
        new("direct 4px", KernelVariant.Direct, DirectTile.Px4), new("direct 8px", KernelVariant.Direct, DirectTile.Px8),
        new("direct 32x8", KernelVariant.Direct, DirectTile.Wide32x8), new("rows", KernelVariant.Rows),
    }.Concat(Enum.GetValues<WinogradTile>().OrderBy(t => t.OutputTile()).ThenBy(t => t.ChannelBlock())
        .Select(t => new ConvKernel(t.LabName(), KernelVariant.Winograd, Winograd: t))).ToList();

    public static ConvKernel Direct(DirectTile tile) => All.First(k => k.Tile == tile);
    public static ConvKernel Of(WinogradTile tile) => All.First(k => k.Winograd == tile);

    /// <summary>The kernel of that name, if there is one.</summary>
    public static ConvKernel? Named(string name) => All.Where(k => k.Name == name).Select(k => (ConvKernel?)k).FirstOrDefault();

    public override string ToString() => Name;
}
