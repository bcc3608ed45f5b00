namespace IlgpuStyle.Devices;

/// <summary>The host CPU's cache sizes, for the CPU OpenCL device (which runs on it): read from Linux's sysfs.</summary>
public static class HostCaches
{
    /// <summary>Bytes of the level-2 cache of CPU 0 (per core on current x86 CPUs), or null where the system does not say
    /// (not Linux, or no such entry).</summary>
    public static long? L2BytesPerCore()
    {
        try
        {
            const string root = "/sys/devices/system/cpu/cpu0/cache";
            if (!Directory.Exists(root)) return null;
            foreach (var index in Directory.GetDirectories(root, "index*"))
            {
                string Read(string name) => File.ReadAllText(Path.Combine(index, name)).Trim();
                if (Read("level") != "2" || Read("type") == "Instruction") continue;
                return ParseSize(Read("size"));
            }
        }
        catch (IOException) { }
        catch (UnauthorizedAccessException) { }
        return null;
    }

    /// <summary>"2048K", "1M", "512": bytes; null if it is not such a size.</summary>
    public static long? ParseSize(string text)
    {
        if (text.Length == 0) return null;
        long unit = char.ToUpperInvariant(text[^1]) switch { 'K' => 1L << 10, 'M' => 1L << 20, 'G' => 1L << 30, _ => 1 };
        string digits = unit == 1 ? text : text[..^1];
        return long.TryParse(digits, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out long n) && n > 0
            ? n * unit : null;
    }
}
