using System.Text.Json;

namespace IlgpuStyle.Devices;

/// <summary>A timed shape in the tuner's cache: the kernel chosen, and each candidate's fastest launch in ms (null in
/// choices kept from the cache's version 3, which held names only).</summary>
public sealed record TunedShape(string Kernel, Dictionary<string, double>? Ms = null);

/// <summary>
/// The 3×3 kernel fastest on this device for each convolution shape, found by timing the candidates (the Direct tiles, and
/// Winograd F(4×4) where the shape allows it) the first time a shape runs (as neural-style's -cudnn_autotune) and cached per
/// device in <see cref="CachePath"/> by the lab's names, with every candidate's time, so that later runs start with it. The
/// Direct tiles sum each output in the same order (a test checks the bits); Winograd's results differ from them in the last
/// bits (within the tolerance table's bound), so a run's image is the same for the same seed, device and cache, and
/// `ilgpustyle kernels --retune` forgets the cache. On by policy where the best kernel differs between machines of one kind
/// (PoCL: `ilgpustyle kernels` found the 16×4 tile fastest on one AVX-512 Xeon and the 32×8 tile on another).
///
/// A shape this device has not timed is decided from the timed shapes near it (<see cref="Carry"/>: the same pass, channels
/// and candidates, a padded input within <see cref="CarryAreaRatio"/>× in pixels), untimed and not cached: the choice
/// depends on the channels far more than on the exact size, so that a new image size, scale or tile times nothing once a
/// size near it has run. `ilgpustyle kernels --carry-over` measures what that costs against timing every shape.
/// </summary>
public sealed class TileTuner
{
    readonly string deviceKey;
    readonly Dictionary<string, TunedShape> choices;

    /// <summary>A tuner of the device's entry in the cache as it is on disk now (a device keeps one: <see cref="ComputeDevice.Tiles"/>).</summary>
    public TileTuner(DeviceInfo device)
    {
        deviceKey = $"{device.Kind}:{device.Name}";
        choices = Load().TryGetValue(deviceKey, out var known) ? new Dictionary<string, TunedShape>(known) : new();
    }

    /// <summary>The cache: device → shape → kernel name and candidates' times.</summary>
    public static string CachePath => IO.CacheFiles.PathOf("conv-kernels-v4.json");   // v4: with each candidate's time (v3: names only, read when v4 is missing)

    /// <summary>The cache of names only that <see cref="CachePath"/> replaced; its choices are kept.</summary>
    static string VersionThreePath => IO.CacheFiles.PathOf("conv-kernels-v3.json");

    /// <summary>What was timed so far on this device, by shape.</summary>
    public IReadOnlyDictionary<string, TunedShape> Choices => choices;

    /// <summary>The shape's key: pass (forward or input gradient), channels in and out, the padded input's height and width.</summary>
    public static string Key(bool inputGradient, int inC, int outC, int paddedH, int paddedW) =>
        $"{(inputGradient ? "input" : "forward")} {inC}->{outC} {paddedH}x{paddedW}";

    /// <summary>The kernel chosen for the shape so far, if any (a cached name that is no kernel any more counts as none).</summary>
    public ConvKernel? Chosen(string key) => choices.TryGetValue(key, out var shape) ? ConvKernel.Named(shape.Kernel) : null;

    /// <summary>How far a timed shape's times carry over: to shapes whose padded input has at most this many times (or at
    /// least this fraction of) its pixels, one halving or doubling of the image's side.</summary>
    public const double CarryAreaRatio = 4.0;

    /// <summary>The shapes this tuner decided from their neighbours, untimed: shape → the nearest timed shape it used.</summary>
    public IReadOnlyDictionary<string, string> Carried => carried.ToDictionary(c => c.Key, c => c.Value.From);

    /// <summary>The carried decisions so far (shape → kernel and nearest timed shape), kept until a shape is timed or
    /// forgotten, which can change them: a run asks for each shape at every launch.</summary>
    readonly Dictionary<string, (ConvKernel Kernel, string From)> carried = new();

    /// <summary>What this tuner runs for the shape without timing, if anything: its cached kernel, if one of the candidates;
    /// else the one its timed neighbours point to (<see cref="Carry"/>).</summary>
    public ConvKernel? Decided(string key, IReadOnlyList<ConvKernel> candidates)
    {
        if (Chosen(key) is { } known && candidates.Contains(known)) return known;
        if (carried.TryGetValue(key, out var memo) && candidates.Contains(memo.Kernel)) return memo.Kernel;
        if (Carry(key, choices, candidates) is not { } near) return null;
        carried[key] = near;
        return near.Kernel;
    }

    /// <summary>
    /// The kernel for an untimed shape from the timed shapes near it, if any: among `known`, those of the same pass, channels
    /// and candidates (a key's " direct" ending) whose padded input is within <see cref="CarryAreaRatio"/> in pixels. Each
    /// candidate scores the weighted mean over them of log(its time / that shape's fastest), a shape at 2× the pixels
    /// weighing half as much as one of the same size; the lowest score wins, so two neighbours outvote one noisy timing.
    /// Where no neighbour has times (a version-3 choice), the nearest one's choice (then by aspect ratio, then the larger).
    /// `From` is the nearest neighbour. The shape itself is not its own neighbour; `candidates` (null: any) limits the choice.
    /// </summary>
    public static (ConvKernel Kernel, string From)? Carry(string key, IReadOnlyDictionary<string, TunedShape> known, IReadOnlyCollection<ConvKernel>? candidates = null)
    {
        if (Parse(key) is not { } shape) return null;
        var near = new List<(string Key, TunedShape Shape, double Distance, double Aspect, double Pixels)>();
        foreach (var (other, tuned) in known)
        {
            if (other == key || Parse(other) is not { } o || o.Group != shape.Group) continue;
            double distance = Math.Abs(Math.Log((double)o.H * o.W / ((double)shape.H * shape.W)));
            if (distance > Math.Log(CarryAreaRatio) + 1e-9) continue;
            near.Add((other, tuned, distance, Math.Abs(Math.Log((double)o.H / o.W * shape.W / shape.H)), (double)o.H * o.W));
        }
        if (near.Count == 0) return null;
        near.Sort((a, b) => (a.Distance, a.Aspect, -a.Pixels).CompareTo((b.Distance, b.Aspect, -b.Pixels)));
        bool Allowed(ConvKernel k) => candidates is null || candidates.Contains(k);
        var scores = new Dictionary<ConvKernel, (double Sum, double Weight)>();
        foreach (var n in near.Where(n => n.Shape.Ms is { Count: > 0 }))
        {
            double fastest = n.Shape.Ms!.Values.Min(), weight = Math.Pow(2, -n.Distance / Math.Log(2));
            foreach (var (name, ms) in n.Shape.Ms)
                if (ConvKernel.Named(name) is { } k && Allowed(k) && ms > 0 && fastest > 0)
                {
                    var (sum, w) = scores.GetValueOrDefault(k);
                    scores[k] = (sum + weight * Math.Log(ms / fastest), w + weight);
                }
        }
        // A candidate timed at only some of the neighbours is scored where it was; the best mean wins.
        if (scores.Count > 0) return (scores.MinBy(s => s.Value.Sum / s.Value.Weight).Key, near[0].Key);
        foreach (var n in near)
            if (ConvKernel.Named(n.Shape.Kernel) is { } k && Allowed(k)) return (k, n.Key);
        return null;
    }

    /// <summary>A key's parts: what must match for a choice to carry over (pass, channels, the " direct" ending), and the
    /// padded input's size.</summary>
    static (string Group, int H, int W)? Parse(string key)
    {
        var parts = key.Split(' ');
        if (parts.Length < 3) return null;
        var size = parts[2].Split('x');
        if (size.Length != 2 || !int.TryParse(size[0], out int h) || !int.TryParse(size[1], out int w) || h < 1 || w < 1) return null;
        return ($"{parts[0]} {parts[1]}{(parts.Length > 3 ? " " + string.Join(' ', parts.Skip(3)) : "")}", h, w);
    }

    /// <summary>
    /// Told once, in one line, when this tuner is about to time candidates (a shape this device has not run before, or a
    /// forgotten cache): a style transfer sets it to its listener's Info, so that a first run says why its first iteration
    /// takes longer. Cleared once called; null: nobody is told.
    /// </summary>
    public Action<string>? FirstTiming { get; set; }

    /// <summary>Timed launches of each candidate, taken in rounds.</summary>
    public const int Rounds = 3;

    /// <summary>After a round in which every candidate's launch took at least this long (ms), the rest are skipped: a
    /// burst of load is small beside such launches, and at 1024² three rounds took 13.5 s of a first iteration.</summary>
    public const double LongLaunchMs = 25;

    /// <summary>The cached kernel for the shape, if it is one of the candidates; else the one its timed neighbours point to
    /// (<see cref="Carry"/>); else the candidate whose fastest of <see cref="Rounds"/> launches (`time`: ms of one launch; one
    /// round where every launch takes <see cref="LongLaunchMs"/> or more) is fastest, cached with every candidate's time.
    /// `timed` tells whether the candidates were timed now; the timing's wall time goes to `clock` (a device's
    /// <see cref="StartupClock"/>).</summary>
    public ConvKernel For(string key, IReadOnlyList<ConvKernel> candidates, Func<ConvKernel, double> time, out bool timed, StartupClock? clock = null)
    {
        timed = false;
        if (Decided(key, candidates) is { } decided) return decided;
        timed = true;
        return clock is null ? Time(key, candidates, time) : clock.Tune(() => Time(key, candidates, time));
    }

    /// <summary>Times the candidates of a shape (see <see cref="For"/>), keeps the fastest with every time, and forgets the
    /// carried decisions, which the new timing can change.</summary>
    ConvKernel Time(string key, IReadOnlyList<ConvKernel> candidates, Func<ConvKernel, double> time)
    {
        if (FirstTiming is { } tell)
        {
            FirstTiming = null;
            tell($"timing the 3×3 convolution kernels for layer shapes this device has not run before (once; kept in {CachePath})");
        }
        // Rounds over all candidates, each candidate's fastest launch counted: a burst of load on a shared machine then slows
        // one launch of every candidate, not every launch of one.
        var fastest = candidates.ToDictionary(c => c, _ => double.MaxValue);
        for (int round = 0; round < Rounds && (round == 0 || fastest.Values.Min() < LongLaunchMs); round++)
            foreach (var c in candidates)
                fastest[c] = Math.Min(fastest[c], time(c));
        var best = candidates.MinBy(c => fastest[c])!;
        choices[key] = new TunedShape(best.Name, fastest.ToDictionary(f => f.Key.Name, f => f.Value));
        carried.Clear();
        Save(key);
        return best;
    }

    /// <summary>Forgets one shape's choice, here and in the cache (the next run of it times the candidates again).</summary>
    public void Forget(string key)
    {
        choices.Remove(key);
        carried.Clear();
        Save(key);
    }

    /// <summary>Forgets this device's choices (the next run of each shape times the tiles again).</summary>
    public void Forget()
    {
        choices.Clear();
        carried.Clear();
        Save(null);
    }

    static readonly JsonSerializerOptions Json = new() { WriteIndented = true };

    static Dictionary<string, Dictionary<string, TunedShape>> Load()
    {
        try
        {
            if (File.Exists(CachePath))
                return JsonSerializer.Deserialize<Dictionary<string, Dictionary<string, TunedShape>>>(File.ReadAllText(CachePath), Json) ?? new();
            var names = JsonSerializer.Deserialize<Dictionary<string, Dictionary<string, string>>>(File.ReadAllText(VersionThreePath), Json) ?? new();
            return names.ToDictionary(d => d.Key, d => d.Value.ToDictionary(s => s.Key, s => new TunedShape(s.Value)));
        }
        catch (Exception e) when (e is IOException or JsonException or UnauthorizedAccessException) { return new(); }
    }

    /// <summary>Writes one shape as this tuner has it (timed, or forgotten) into the cache as it is on disk now (another
    /// process's shapes stay), or (`key` null) this device's choices as they are here (after <see cref="Forget()"/>).</summary>
    void Save(string? key)
    {
        try
        {
            var all = Load();
            if (key is null) all[deviceKey] = new Dictionary<string, TunedShape>(choices);
            else
            {
                if (!all.TryGetValue(deviceKey, out var mine)) all[deviceKey] = mine = new();
                if (choices.TryGetValue(key, out var shape)) mine[key] = shape;
                else if (!mine.Remove(key)) return;   // nothing to forget on disk
            }
            IO.AtomicFile.WriteAllText(CachePath, JsonSerializer.Serialize(all, Json));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { /* the cache is a convenience */ }
    }
}
