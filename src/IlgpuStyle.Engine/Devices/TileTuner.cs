using System.Text.Json;

namespace IlgpuStyle.Devices;

/// <summary>
/// The 3×3 kernel fastest on this device for each convolution shape, found by timing the candidates (the Direct tiles, and
/// Winograd F(4×4) where the shape allows it) the first time a shape runs (as neural-style's -cudnn_autotune) and cached per
/// device in <see cref="CachePath"/> by the lab's names, so that later runs start with it. The Direct tiles sum each output
/// in the same order (a test checks the bits); Winograd's results differ from them in the last bits (within the tolerance
/// table's bound), so a run's image is the same for the same seed, device and cache, and `ilgpustyle kernels --retune`
/// forgets the cache. On by policy where the best kernel differs between machines of one kind (PoCL: `ilgpustyle kernels`
/// found the 16×4 tile fastest on one AVX-512 Xeon and the 32×8 tile on another).
/// </summary>
public sealed class TileTuner
{
    readonly string deviceKey;
    readonly Dictionary<string, string> choices;

    internal TileTuner(DeviceInfo device)
    {
        deviceKey = $"{device.Kind}:{device.Name}";
        choices = Load().TryGetValue(deviceKey, out var known) ? new Dictionary<string, string>(known) : new();
    }

    /// <summary>The cache: device → shape → kernel name.</summary>
    public static string CachePath => IO.CacheFiles.PathOf("conv-kernels-v3.json");   // v3: the 4-channel Winograd product among the candidates (v2 choices were made without it)

    /// <summary>What was chosen so far on this device, by shape.</summary>
    public IReadOnlyDictionary<string, string> Choices => choices;

    /// <summary>The shape's key: pass (forward or input gradient), channels in and out, the padded input's height and width.</summary>
    public static string Key(bool inputGradient, int inC, int outC, int paddedH, int paddedW) =>
        $"{(inputGradient ? "input" : "forward")} {inC}->{outC} {paddedH}x{paddedW}";

    /// <summary>The kernel chosen for the shape so far, if any (a cached name that is no kernel any more counts as none).</summary>
    public ConvKernel? Chosen(string key) => choices.TryGetValue(key, out var name) ? ConvKernel.Named(name) : null;

    /// <summary>
    /// Told once, in one line, when this tuner is about to time candidates (a shape this device has not run before, or a
    /// forgotten cache): a style transfer sets it to its listener's Info, so that a first run says why its first iteration
    /// takes longer. Cleared once called; null: nobody is told.
    /// </summary>
    public Action<string>? FirstTiming { get; set; }

    /// <summary>Timed launches of each candidate, taken in rounds.</summary>
    public const int Rounds = 3;

    /// <summary>The cached kernel for the shape, if it is one of the candidates; else the candidate whose fastest of
    /// <see cref="Rounds"/> launches (`time`: ms of one launch) is fastest, then cached. `timed` tells whether the candidates
    /// were timed now.</summary>
    public ConvKernel For(string key, IReadOnlyList<ConvKernel> candidates, Func<ConvKernel, double> time, out bool timed)
    {
        timed = false;
        if (Chosen(key) is { } known && candidates.Contains(known)) return known;
        if (FirstTiming is { } tell)
        {
            FirstTiming = null;
            tell($"timing the 3×3 convolution kernels for layer shapes this device has not run before (once; kept in {CachePath})");
        }
        // Rounds over all candidates, each candidate's fastest launch counted: a burst of load on a shared machine then slows
        // one launch of every candidate, not every launch of one.
        var fastest = candidates.ToDictionary(c => c, _ => double.MaxValue);
        for (int round = 0; round < Rounds; round++)
            foreach (var c in candidates)
                fastest[c] = Math.Min(fastest[c], time(c));
        var best = candidates.MinBy(c => fastest[c])!;
        timed = true;
        choices[key] = best.Name;
        Save();
        return best;
    }

    /// <summary>Forgets this device's choices (the next run of each shape times the tiles again).</summary>
    public void Forget()
    {
        choices.Clear();
        Save();
    }

    static readonly JsonSerializerOptions Json = new() { WriteIndented = true };

    static Dictionary<string, Dictionary<string, string>> Load()
    {
        try { return JsonSerializer.Deserialize<Dictionary<string, Dictionary<string, string>>>(File.ReadAllText(CachePath), Json) ?? new(); }
        catch (Exception e) when (e is IOException or JsonException or UnauthorizedAccessException) { return new(); }
    }

    void Save()
    {
        try
        {
            var all = Load();
            all[deviceKey] = new Dictionary<string, string>(choices);
            IO.AtomicFile.WriteAllText(CachePath, JsonSerializer.Serialize(all, Json));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { /* the cache is a convenience */ }
    }
}
