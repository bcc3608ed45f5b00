using System.Text.Json;

namespace IlgpuStyle.Devices;

/// <summary>
/// The 3×3 Direct tile fastest on this device for each convolution shape, found by timing every tile the first time a
/// shape runs (as neural-style's -cudnn_autotune) and cached per device in <see cref="CachePath"/>, so that later runs
/// start with it. Which tile runs never changes a result: every tile sums each output in the same order (a test checks
/// the bits). On by policy where the best tile differs between machines of one kind (PoCL: `ilgpustyle kernels` found
/// the 16×4 tile fastest on one AVX-512 Xeon and the 32×8 tile on another).
/// </summary>
public sealed class TileTuner
{
    readonly string deviceKey;
    readonly Dictionary<string, DirectTile> choices;

    internal TileTuner(DeviceInfo device)
    {
        deviceKey = $"{device.Kind}:{device.Name}";
        choices = Load().TryGetValue(deviceKey, out var known) ? new Dictionary<string, DirectTile>(known) : new();
    }

    /// <summary>The cache: device → shape → tile.</summary>
    public static string CachePath => IO.CacheFiles.PathOf("direct-tiles-v1.json");

    /// <summary>What was chosen so far on this device, by shape.</summary>
    public IReadOnlyDictionary<string, DirectTile> Choices => choices;

    /// <summary>The shape's key: pass (forward or input gradient), channels in and out, the padded input's height and width.</summary>
    public static string Key(bool inputGradient, int inC, int outC, int paddedH, int paddedW) =>
        $"{(inputGradient ? "input" : "forward")} {inC}->{outC} {paddedH}x{paddedW}";

    /// <summary>The tile chosen for the shape so far, if any.</summary>
    public DirectTile? Chosen(string key) => choices.TryGetValue(key, out var tile) ? tile : null;

    /// <summary>The cached tile for the shape, or the fastest by `time` (ms of one launch with that tile), then cached.</summary>
    public DirectTile For(string key, Func<DirectTile, double> time)
    {
        if (choices.TryGetValue(key, out var tile)) return tile;
        tile = Enum.GetValues<DirectTile>().MinBy(time);
        choices[key] = tile;
        Save();
        return tile;
    }

    /// <summary>Forgets this device's choices (the next run of each shape times the tiles again).</summary>
    public void Forget()
    {
        choices.Clear();
        Save();
    }

    static readonly JsonSerializerOptions Json = new() { WriteIndented = true, Converters = { new System.Text.Json.Serialization.JsonStringEnumConverter() } };

    static Dictionary<string, Dictionary<string, DirectTile>> Load()
    {
        try { return JsonSerializer.Deserialize<Dictionary<string, Dictionary<string, DirectTile>>>(File.ReadAllText(CachePath), Json) ?? new(); }
        catch (Exception e) when (e is IOException or JsonException or UnauthorizedAccessException) { return new(); }
    }

    void Save()
    {
        try
        {
            var all = Load();
            all[deviceKey] = new Dictionary<string, DirectTile>(choices);
            IO.AtomicFile.WriteAllText(CachePath, JsonSerializer.Serialize(all, Json));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { /* the cache is a convenience */ }
    }
}
