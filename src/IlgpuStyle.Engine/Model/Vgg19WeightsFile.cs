using PureHDF;

namespace IlgpuStyle.Model;

/// <summary>A weights file that cannot be used; the message is one line naming the file and the dataset.</summary>
public sealed class WeightsFileException(string message, Exception? inner = null) : Exception(message, inner);

/// <summary>
/// Reads VGG19's convolutions from the Keras HDF5 layouts users have:
///   Keras Applications files (notop and full): block1_conv1/block1_conv1_W_1:0, …_b_1:0
///   Keras 2 save_weights:                     block1_conv1/block1_conv1/kernel:0, bias:0
///   Keras 3 .weights.h5:                      layers/block1_conv1/vars/0 (kernel), vars/1 (bias)
/// A layer's group is found by its Keras name (at the root, under layers/, or deeper); inside it
/// the kernel is the 4-D dataset and the bias the 1-D one. Names are not trusted, shapes are:
/// kernel (3, 3, Ci, Co), bias (Co). Kernels convert once from (kh, kw, in, out) to (out, in, kh, kw).
/// Shapes are checked before any data is read, so a hostile file cannot make us allocate gigabytes.
/// </summary>
public static class Vgg19WeightsFile
{
    static readonly byte[] Signature = { 0x89, (byte)'H', (byte)'D', (byte)'F', 0x0d, 0x0a, 0x1a, 0x0a };

    public static NetworkWeights Load(string path)
    {
        string file = Path.GetFileName(path);
        if (Directory.Exists(path)) throw new WeightsFileException($"weights file '{path}' is a directory, not an HDF5 file");
        if (!File.Exists(path)) throw new WeightsFileException($"weights file '{path}' does not exist");
        if (!HasHdf5Signature(path)) throw new WeightsFileException($"weights file '{file}' is not an HDF5 file");

        PureHDF.VOL.Native.NativeFile h5;
        try { h5 = H5File.OpenRead(path); }
        catch (Exception e) { throw new WeightsFileException($"weights file '{file}' cannot be opened: truncated or corrupt HDF5 ({e.Message})", e); }

        using (h5)
        {
            var kernels = new Dictionary<string, float[]>();
            var biases = new Dictionary<string, float[]>();
            foreach (var spec in Vgg19Layers.Convolutions)
            {
                var group = FindGroup(h5, spec.KerasName, file)
                    ?? throw new WeightsFileException($"weights file '{file}': no group '{spec.KerasName}' (VGG19 layer {spec.Name}); is this a VGG19 file?");
                var datasets = Datasets(group, group.Name, 3, file).ToList();
                var kernel = Pick(datasets, 4, spec, file, "kernel");
                var bias = Pick(datasets, 1, spec, file, "bias");
                ExpectShape(kernel, new ulong[] { 3, 3, (ulong)spec.InChannels, (ulong)spec.OutChannels }, file);
                ExpectShape(bias, new ulong[] { (ulong)spec.OutChannels }, file);
                kernels[spec.Name] = ToOutInKhKw(ReadFloats(kernel.Dataset, kernel.Path, file), spec);
                biases[spec.Name] = ReadFloats(bias.Dataset, bias.Path, file);
            }
            return new NetworkWeights { Kernels = kernels, Biases = biases, Source = path };
        }
    }

    internal static bool HasHdf5Signature(string path)
    {
        // The superblock sits at 0, or after a user block at 512, 1024, 2048, …
        using var s = File.OpenRead(path);
        var buffer = new byte[8];
        for (long offset = 0; offset + 8 <= s.Length; offset = offset == 0 ? 512 : offset * 2)
        {
            s.Position = offset;
            if (s.Read(buffer, 0, 8) == 8 && buffer.AsSpan().SequenceEqual(Signature)) return true;
            if (offset > 1 << 20) break;
        }
        return false;
    }

    static IH5Group? FindGroup(IH5Group root, string name, string file)
    {
        try
        {
            if (root.LinkExists(name) && root.Get(name) is IH5Group direct) return direct;
            if (root.LinkExists("layers") && root.Get("layers") is IH5Group layers && layers.LinkExists(name) && layers.Get(name) is IH5Group keras3)
                return keras3;
            return Search(root, name, 3);
        }
        catch (Exception e) when (e is not WeightsFileException)
        {
            throw new WeightsFileException($"weights file '{file}': cannot read the group structure looking for '{name}' ({e.Message})", e);
        }
    }

    static IH5Group? Search(IH5Group group, string name, int depth)
    {
        if (depth == 0) return null;
        foreach (var child in group.Children())
            if (child is IH5Group g)
            {
                if (g.Name == name) return g;
                if (Search(g, name, depth - 1) is { } found) return found;
            }
        return null;
    }

    sealed record Found(IH5Dataset Dataset, string Path, ulong[] Dims);

    static IEnumerable<Found> Datasets(IH5Group group, string path, int depth, string file)
    {
        List<IH5Object> children;
        try { children = group.Children().ToList(); }
        catch (Exception e) { throw new WeightsFileException($"weights file '{file}': cannot list '{path}' ({e.Message})", e); }
        foreach (var child in children)
        {
            string childPath = $"{path}/{child.Name}";
            if (child is IH5Dataset d)
            {
                ulong[] dims;
                try { dims = d.Space.Dimensions; }
                catch (Exception e) { throw new WeightsFileException($"weights file '{file}': dataset '{childPath}' has an unreadable shape ({e.Message})", e); }
                yield return new Found(d, childPath, dims);
            }
            else if (child is IH5Group g && depth > 1)
                foreach (var f in Datasets(g, childPath, depth - 1, file))
                    yield return f;
        }
    }

    static Found Pick(List<Found> datasets, int rank, ConvLayerSpec spec, string file, string role)
    {
        var candidates = datasets.Where(d => d.Dims.Length == rank).ToList();
        if (candidates.Count == 0)
        {
            string seen = datasets.Count == 0 ? "no datasets" : string.Join(", ", datasets.Select(d => $"{d.Path} {Shape(d.Dims)}"));
            throw new WeightsFileException($"weights file '{file}': layer '{spec.KerasName}' has no {rank}-D {role} dataset (found {seen})");
        }
        if (candidates.Count > 1)
        {
            var named = candidates.Where(d => d.Path.Contains(role == "kernel" ? "kernel" : "bias") ||
                                              d.Path.Contains(role == "kernel" ? "_W" : "_b")).ToList();
            if (named.Count == 1) return named[0];
            throw new WeightsFileException($"weights file '{file}': layer '{spec.KerasName}' has several {rank}-D datasets ({string.Join(", ", candidates.Select(c => c.Path))})");
        }
        return candidates[0];
    }

    static void ExpectShape(Found d, ulong[] expected, string file)
    {
        if (!d.Dims.SequenceEqual(expected))
            throw new WeightsFileException($"weights file '{file}': dataset '{d.Path}' has shape {Shape(d.Dims)}, VGG19 needs {Shape(expected)}");
    }

    static string Shape(ulong[] dims) => "(" + string.Join(", ", dims) + ")";

    static float[] ReadFloats(IH5Dataset d, string path, string file)
    {
        try
        {
            var type = d.Type;
            if (type.Class == H5DataTypeClass.FloatingPoint && type.Size == 8)
                return d.Read<double[]>().Select(v => (float)v).ToArray();
            if (type.Class != H5DataTypeClass.FloatingPoint || type.Size != 4)
                throw new WeightsFileException($"weights file '{file}': dataset '{path}' holds {type.Class} of {type.Size} bytes, expected float32");
            return d.Read<float[]>();
        }
        catch (WeightsFileException) { throw; }
        catch (Exception e)
        {
            throw new WeightsFileException($"weights file '{file}': cannot read dataset '{path}': truncated or corrupt ({e.Message})", e);
        }
    }

    /// <summary>(kh, kw, in, out) → (out, in, kh, kw).</summary>
    static float[] ToOutInKhKw(float[] k, ConvLayerSpec spec)
    {
        int ci = spec.InChannels, co = spec.OutChannels, ks = spec.KernelSize;
        var w = new float[k.Length];
        for (int ky = 0; ky < ks; ky++)
            for (int kx = 0; kx < ks; kx++)
                for (int i = 0; i < ci; i++)
                    for (int o = 0; o < co; o++)
                        w[((o * ci + i) * ks + ky) * ks + kx] = k[((ky * ks + kx) * ci + i) * co + o];
        return w;
    }

    /// <summary>
    /// The weights file to use: the given path; else the first *.h5, then *.pth or *.caffemodel, in weights/ (beside the working
    /// directory, then the repository root); else Keras's own copy in its cache (<see cref="WeightsPlaces.KerasCache"/>,
    /// where `ilgpustyle weights download` puts it too); else torchvision's or neural-style-pt's VGG19 in the torch hub
    /// cache; else null.
    /// </summary>
    public static string? Locate(string? explicitPath)
    {
        if (!string.IsNullOrWhiteSpace(explicitPath)) return explicitPath;
        foreach (var dir in WeightsPlaces.WeightsFolders().Where(Directory.Exists))
        {
            var files = Directory.GetFiles(dir, "*.h5").OrderBy(f => f.Contains("notop") ? 0 : 1).ThenBy(f => f, StringComparer.Ordinal).ToList();
            if (files.Count > 0) return files[0];
        }
        foreach (var dir in WeightsPlaces.WeightsFolders().Where(Directory.Exists))
        {
            var files = Directory.GetFiles(dir, "*.pth").Concat(Directory.GetFiles(dir, "*.caffemodel")).Order(StringComparer.Ordinal).ToList();
            if (files.Count > 0) return files[0];
        }
        return WeightsPlaces.Known.Where(k => k.FileName.StartsWith("vgg19_weights_tf") && k.FileName.EndsWith(".h5"))
                   .Select(k => Path.Combine(WeightsPlaces.KerasCache, k.FileName))
                   .Concat(WeightsPlaces.Known.Where(k => k.FileName.StartsWith("vgg19-")).Select(k => Path.Combine(WeightsPlaces.TorchHubCache, k.FileName)))
                   .FirstOrDefault(File.Exists);
    }
}
