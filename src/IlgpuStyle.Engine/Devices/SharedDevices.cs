namespace IlgpuStyle.Devices;

/// <summary>
/// One <see cref="DeviceCatalog"/> for the process and each device opened once: kernels compile once per device,
/// however many commands or runs use it (the test suite runs hundreds in one process; the command line runs one).
/// A device handed out here is never disposed by its user; the process owns it. It comes back with no
/// launch observer (profiler) attached.
/// </summary>
public static class SharedDevices
{
    static readonly Lazy<DeviceCatalog> catalog = new(() => new DeviceCatalog());
    static readonly Dictionary<string, ComputeDevice> open = new();
    static readonly object gate = new();

    public static DeviceCatalog Catalog => catalog.Value;

    /// <summary>The device `--device` names (cuda|opencl|cpu[:N], null or auto for the default), opened on first use.</summary>
    public static ComputeDevice Open(string? spec) => Open(Catalog.Resolve(spec));

    public static ComputeDevice Open(DeviceInfo info)
    {
        lock (gate)
        {
            if (!open.TryGetValue(info.Id, out var device))
                open[info.Id] = device = Catalog.Open(info);
            device.Observer = null;
            return device;
        }
    }
}
