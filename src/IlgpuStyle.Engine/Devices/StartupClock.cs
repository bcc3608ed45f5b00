using System.Diagnostics;

namespace IlgpuStyle.Devices;

/// <summary>
/// Where a device's wall time went that is not the work itself: compiling kernels (ILGPU's code generation and the
/// driver's build, in <see cref="ComputeDevice.Kernel{TLauncher}"/>'s loaders, on each kernel's first use) and timing the
/// tuner's candidates (their compilation not counted twice). Totals since the device was opened; a run or the benchmark
/// reads them before and after a phase (<see cref="Read"/>) to split its start-up.
/// </summary>
public sealed class StartupClock
{
    long compileTicks, tuningTicks;

    /// <summary>Wall time in kernel loaders so far.</summary>
    public TimeSpan Compiling => Stopwatch.GetElapsedTime(0, Interlocked.Read(ref compileTicks));

    /// <summary>Wall time timing the tuner's candidates so far, their compilation excluded.</summary>
    public TimeSpan Tuning => Stopwatch.GetElapsedTime(0, Interlocked.Read(ref tuningTicks));

    /// <summary>Both totals now.</summary>
    public (TimeSpan Compiling, TimeSpan Tuning) Read() => (Compiling, Tuning);

    /// <summary>Runs a kernel loader, its wall time counted as compiling.</summary>
    public T Compile<T>(Func<T> load)
    {
        long start = Stopwatch.GetTimestamp();
        try { return load(); }
        finally { Interlocked.Add(ref compileTicks, Stopwatch.GetTimestamp() - start); }
    }

    /// <summary>Runs the tuner, its wall time less the compiling inside it counted as tuning.</summary>
    public T Tune<T>(Func<T> tune)
    {
        long start = Stopwatch.GetTimestamp(), compiledBefore = Interlocked.Read(ref compileTicks);
        try { return tune(); }
        finally
        {
            long compiled = Interlocked.Read(ref compileTicks) - compiledBefore;
            Interlocked.Add(ref tuningTicks, Stopwatch.GetTimestamp() - start - compiled);
        }
    }
}

/// <summary>
/// The time before a run's first iteration, by phase: each phase's wall time less the compiling and tuning inside it,
/// which are shown apart (a phase that compiles its kernels on first use would otherwise look slow). `Total` is the
/// whole wait; what no phase names (the rest of the start) is `Total` less the others.
/// </summary>
public sealed class StartupSplit
{
    readonly StartupClock clock;
    readonly Stopwatch wall = Stopwatch.StartNew();
    readonly (TimeSpan Compiling, TimeSpan Tuning) atStart;
    readonly List<(string Name, TimeSpan Time)> phases = new();
    (TimeSpan Compiling, TimeSpan Tuning)? atEnd;
    TimeSpan total;

    public StartupSplit(ComputeDevice device)
    {
        clock = device.Startup;
        atStart = clock.Read();
    }

    /// <summary>Runs one phase and adds its time (compiling and tuning excluded) under its name; after <see cref="Stop"/> only runs it.</summary>
    public T Phase<T>(string name, Func<T> work)
    {
        if (atEnd is not null) return work();
        var (c0, t0) = clock.Read();
        var start = wall.Elapsed;
        try { return work(); }
        finally
        {
            var (c1, t1) = clock.Read();
            int i = phases.FindIndex(p => p.Name == name);
            var time = wall.Elapsed - start - (c1 - c0) - (t1 - t0);
            if (i < 0) phases.Add((name, time));
            else phases[i] = (name, phases[i].Time + time);
        }
    }

    public void Phase(string name, Action work) => Phase(name, () => { work(); return 0; });

    /// <summary>Ends the split (the first iteration is done); later calls change nothing.</summary>
    public void Stop()
    {
        if (atEnd is not null) return;
        atEnd = clock.Read();
        total = wall.Elapsed;
    }

    public TimeSpan Total => atEnd is null ? wall.Elapsed : total;
    public TimeSpan Compiling => (atEnd ?? clock.Read()).Compiling - atStart.Compiling;
    public TimeSpan Tuning => (atEnd ?? clock.Read()).Tuning - atStart.Tuning;

    /// <summary>A phase's time (zero if it never ran).</summary>
    public TimeSpan this[string name] => phases.FirstOrDefault(p => p.Name == name).Time;

    /// <summary>Every part: the phases in order, then compiling and tuning, then the rest.</summary>
    public IReadOnlyList<(string Name, TimeSpan Time)> Parts
    {
        get
        {
            var parts = phases.Concat(new (string Name, TimeSpan Time)[] { ("compiling kernels", Compiling), ("timing kernels", Tuning) }).ToList();
            var rest = Total - parts.Aggregate(TimeSpan.Zero, (sum, p) => sum + p.Time);
            if (rest > TimeSpan.FromMilliseconds(50)) parts.Add(("other", rest));
            return parts;
        }
    }

    /// <summary>"inputs 0.1 s, network 1.2 s, …": the parts of at least 0.05 s.</summary>
    public override string ToString() =>
        string.Join(", ", Parts.Where(p => p.Time.TotalSeconds >= 0.05).Select(p => $"{p.Name} {p.Time.TotalSeconds:F1} s"));
}
