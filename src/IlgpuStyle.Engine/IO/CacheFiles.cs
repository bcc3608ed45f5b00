namespace IlgpuStyle.IO;

/// <summary>Where the measurements kept between runs live: $XDG_CACHE_HOME/ilgpustyle, else ~/.cache/ilgpustyle.</summary>
public static class CacheFiles
{
    public static string PathOf(string name) => Path.Combine(
        Environment.GetEnvironmentVariable("XDG_CACHE_HOME") is { Length: > 0 } x ? x : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".cache"),
        "ilgpustyle", name);
}
