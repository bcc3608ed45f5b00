using IlgpuStyle.IO;

namespace IlgpuStyle.Model;

/// <summary>A network file people have: its name, what it holds, and how to tell that a copy is the real one.</summary>
public sealed record KnownWeights(string FileName, string Description, long? Bytes, string? Md5, string? Sha256Prefix, string? Url);

/// <summary>A file found in one of the places searched, with what can be said of it.</summary>
public sealed record WeightsCandidate(string Place, string Path, long Bytes, string Format, KnownWeights? Known);

/// <summary>
/// Where network files are looked for, in order, and the files people already have: our weights/ folder, the Keras
/// cache (Keras downloads VGG19 there and checks its MD5), the torch hub cache (torchvision downloads there and names
/// each file by the first 8 hex digits of its SHA-256), and the ResNet18 of the NuGet package.
/// </summary>
public static class WeightsPlaces
{
    public static readonly KnownWeights KerasVgg19 = new("vgg19_weights_tf_dim_ordering_tf_kernels_notop.h5",
        "VGG19 convolutions, Keras Applications (ImageNet; Caffe preprocessing)", 80_134_624, "253f8cb515780f3b799900260a226db6", null,
        "https://storage.googleapis.com/tensorflow/keras-applications/vgg19/vgg19_weights_tf_dim_ordering_tf_kernels_notop.h5");

    /// <summary>The files neural-style's users hold, recognized by name (and checked where the name or the maker gives a hash).</summary>
    public static readonly KnownWeights[] Known =
    {
        KerasVgg19,
        new("vgg19_weights_tf_dim_ordering_tf_kernels.h5", "VGG19 with its dense layers, Keras Applications (the dense layers are not read)",
            null, "cbe5617147190e668d6c5d5026f83318", null, null),
        new("vgg19-dcbb9e9d.pth", "VGG19, torchvision (ImageNet; RGB in [0, 1], mean/std normalized)", null, null, "dcbb9e9d", null),
        new("vgg19-d01eb7cb.pth", "VGG19, neural-style-pt's conversion of the Caffe model (BGR 0–255 minus the means)", null, null, "d01eb7cb", null),
        new("VGG_ILSVRC_19_layers.caffemodel", "VGG19, the original Caffe release (neural-style's)", null, null, null, null),
        new("vgg_normalised.caffemodel", "VGG19 normalized by Gatys et al. (their own code's)", null, null, null, null),
        new("ResNet18.onnx", $"ResNet18 (ImageNet), from the NuGet package {ResNet18WeightsFile.PackageId} {ResNet18WeightsFile.PackageVersion}",
            63_653_533, "82687589f0f66ac1d7cf8977d8bd00e5", null, null),
    };

    /// <summary>$KERAS_HOME/models, else ~/.keras/models: where keras.utils.get_file keeps VGG19.</summary>
    public static string KerasCache =>
        Path.Combine(Environment.GetEnvironmentVariable("KERAS_HOME") is { Length: > 0 } home ? home
            : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".keras"), "models");

    /// <summary>$TORCH_HOME/hub/checkpoints, else $XDG_CACHE_HOME/torch/…, else ~/.cache/torch/hub/checkpoints.</summary>
    public static string TorchHubCache =>
        Path.Combine(Environment.GetEnvironmentVariable("TORCH_HOME") is { Length: > 0 } home ? home
            : Path.Combine(Environment.GetEnvironmentVariable("XDG_CACHE_HOME") is { Length: > 0 } cache ? cache
                : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".cache"), "torch"), "hub", "checkpoints");

    /// <summary>weights/ beside the working directory, then beside the repository root (where the program runs from one).</summary>
    public static IEnumerable<string> WeightsFolders()
    {
        yield return Path.Combine(Environment.CurrentDirectory, "weights");
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "IlgpuStyle.sln")))
                yield return Path.Combine(dir.FullName, "weights");
    }

    /// <summary>The places searched, in order, with a name for each.</summary>
    public static IReadOnlyList<(string Place, string Folder)> Places()
    {
        var places = WeightsFolders().Distinct().Select(f => ("weights/", f)).ToList();
        places.Add(("Keras cache", KerasCache));
        places.Add(("torch hub cache", TorchHubCache));
        return places;
    }

    static readonly string[] Extensions = { ".h5", ".hdf5", ".pth", ".pt", ".caffemodel", ".onnx" };

    /// <summary>Every network file in the places (and --weights, first, where given).</summary>
    public static IReadOnlyList<WeightsCandidate> Find(string? explicitPath)
    {
        var found = new List<WeightsCandidate>();
        if (!string.IsNullOrWhiteSpace(explicitPath) && File.Exists(explicitPath)) found.Add(Describe("--weights", explicitPath));
        foreach (var (place, folder) in Places().Where(p => Directory.Exists(p.Folder)))
            foreach (var file in Directory.GetFiles(folder).Where(f => Extensions.Contains(Path.GetExtension(f).ToLowerInvariant())).Order(StringComparer.Ordinal))
                found.Add(Describe(place, file));
        if (ResNet18WeightsFile.Locate() is { } bundled) found.Add(Describe("bundled (NuGet)", bundled));
        return found;
    }

    public static WeightsCandidate Describe(string place, string path) =>
        new(place, path, new FileInfo(path).Length, Format(path), Known.FirstOrDefault(k => k.FileName == Path.GetFileName(path)));

    /// <summary>The format by the file's signature (HDF5's, where the HDF5 reader looks for it; a zip's or a pickle's at the
    /// start); protobuf formats, which have none, by extension.</summary>
    public static string Format(string path)
    {
        if (Vgg19WeightsFile.HasHdf5Signature(path)) return "HDF5 (Keras)";
        var head = new byte[4];
        int n;
        using (var s = File.OpenRead(path)) n = s.Read(head, 0, head.Length);
        if (n >= 4 && head[0] == (byte)'P' && head[1] == (byte)'K' && head[2] == 3 && head[3] == 4) return "PyTorch (zip)";
        if (n >= 2 && head[0] == 0x80 && head[1] <= 5) return "PyTorch (legacy pickle)";
        return Path.GetExtension(path).ToLowerInvariant() switch
        {
            ".onnx" => "ONNX",
            ".caffemodel" => "Caffe",
            ".h5" or ".hdf5" => "not HDF5",
            _ => "unknown",
        };
    }

    /// <summary>
    /// Whether the file is what its name says, where that can be checked: its MD5 (Keras's files), the SHA-256 prefix in
    /// its name (torch hub's), its size; an HDF5, PyTorch or Caffe file of another name, whether it reads as VGG19. Null when nothing can be
    /// checked.
    /// </summary>
    public static (bool Ok, string Says)? Verify(WeightsCandidate c)
    {
        if (c.Known is { } k)
        {
            if (k.Bytes is { } bytes && c.Bytes != bytes) return (false, $"{c.Bytes:N0} bytes, the real file has {bytes:N0}");
            if (k.Md5 is { } md5)
            {
                string got = Download.Md5(c.Path);
                return got == md5 ? (true, "MD5 matches") : (false, $"MD5 {got}, expected {md5}");
            }
            if (k.Sha256Prefix is { } prefix)
            {
                string got = Download.Sha256(c.Path);
                return got.StartsWith(prefix) ? (true, "SHA-256 matches its name") : (false, $"SHA-256 {got[..8]}…, its name says {prefix}");
            }
        }
        // No hash to check it by: whether it reads as VGG19 is the check there is.
        if (c.Format is not ("HDF5 (Keras)" or "PyTorch (zip)" or "PyTorch (legacy pickle)" or "Caffe" or "ONNX")) return null;
        try
        {
            Networks.LoadVgg19(c.Path);
            return (true, "reads as VGG19");
        }
        catch (WeightsFileException e) { return (false, e.Message); }
    }
}
