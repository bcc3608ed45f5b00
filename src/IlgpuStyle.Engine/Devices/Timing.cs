using System.Diagnostics;

namespace IlgpuStyle.Devices;

/// <summary>Wall-clock timing of device work, the one way `bench`, `profile`, `kernels` and the tile tuner take it.</summary>
public static class Timing
{
    /// <summary>The times of `repeats` runs of `work`, in ms, sorted: the device is idle before each run and waited for after it.</summary>
    public static double[] Repeat(ComputeDevice device, int repeats, Action work)
    {
        var times = new double[repeats];
        for (int r = 0; r < repeats; r++)
        {
            device.Synchronize();
            var clock = Stopwatch.StartNew();
            work();
            device.Synchronize();
            times[r] = clock.Elapsed.TotalMilliseconds;
        }
        Array.Sort(times);
        return times;
    }

    /// <summary>The median of sorted times (the mean of the middle two for an even count).</summary>
    public static double Median(IReadOnlyList<double> sorted) =>
        sorted.Count % 2 == 1 ? sorted[sorted.Count / 2] : (sorted[sorted.Count / 2 - 1] + sorted[sorted.Count / 2]) / 2;
}
