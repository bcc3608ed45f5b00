using System.Diagnostics;
using IlgpuStyle.Model;
using PureHDF;

namespace IlgpuStyle.Tests.Model;

/// <summary>Source weights in Keras's own layout (kh, kw, in, out), seeded, shared by the layout tests.</summary>
public sealed class KerasWeightsFixture
{
    public Dictionary<string, float[]> Kernels { get; } = new();
    public Dictionary<string, float[]> Biases { get; } = new();
    public string Directory { get; } = Path.Combine(Path.GetTempPath(), "ilgpustyle-weights-" + Guid.NewGuid().ToString("N")[..8]);
    /// <summary>Fixed (and in every comparison's message), so a failure reproduces.</summary>
    public int Seed { get; } = Harness.Rand.StableSeed(nameof(KerasWeightsFixture));

    public KerasWeightsFixture()
    {
        System.IO.Directory.CreateDirectory(Directory);
        var rng = new Random(Seed);
        foreach (var c in Vgg19Layers.Convolutions)
        {
            // Uniform with He's variance 2/fan_in, so a network built from them behaves (values themselves are arbitrary).
            float scale = (float)(Math.Sqrt(12.0) * Math.Sqrt(2.0 / (9 * c.InChannels)));
            Kernels[c.KerasName] = Enumerable.Range(0, 9 * c.InChannels * c.OutChannels).Select(_ => ((float)rng.NextDouble() - 0.5f) * scale).ToArray();
            Biases[c.KerasName] = Enumerable.Range(0, c.OutChannels).Select(_ => (float)rng.NextDouble() * 0.1f).ToArray();
        }
    }

    public static ulong[] KernelDims(ConvLayerSpec c) => new ulong[] { 3, 3, (ulong)c.InChannels, (ulong)c.OutChannels };
}

public class WeightsFileTests(KerasWeightsFixture source) : IClassFixture<KerasWeightsFixture>
{
    static readonly string[] KerasLayerNames = Vgg19Layers.Order.Select(l =>
        l.StartsWith("conv") ? $"block{l[4]}_conv{l[6]}" : $"block{l[4]}_pool").ToArray();

    /// <summary>Keras Applications notop file: root attribute layer_names; per layer weight_names; datasets at group level.</summary>
    string WriteApplicationsLayout(string name, Func<ConvLayerSpec, bool>? include = null, Func<ConvLayerSpec, ulong[]>? dims = null)
    {
        var file = new H5File();
        file.Attributes["layer_names"] = KerasLayerNames;
        foreach (var layer in KerasLayerNames)
        {
            var spec = Vgg19Layers.Convolutions.FirstOrDefault(c => c.KerasName == layer);
            var group = new H5Group();
            if (spec is null)
            {
                group.Attributes["weight_names"] = Array.Empty<double>();   // as in the published file: an empty float64 array
                file[layer] = group;
                continue;
            }
            if (include is not null && !include(spec)) continue;
            group.Attributes["weight_names"] = new[] { $"{layer}_W_1:0", $"{layer}_b_1:0" };
            group[$"{layer}_W_1:0"] = new H5Dataset(source.Kernels[layer], fileDims: (dims ?? KerasWeightsFixture.KernelDims)(spec));
            group[$"{layer}_b_1:0"] = source.Biases[layer];
            file[layer] = group;
        }
        string path = Path.Combine(source.Directory, name);
        file.Write(path);
        return path;
    }

    /// <summary>Keras 2 save_weights: block1_conv1/block1_conv1/kernel:0 and bias:0.</summary>
    internal string WriteKeras2Layout()
    {
        var file = new H5File();
        file.Attributes["layer_names"] = KerasLayerNames;
        file.Attributes["backend"] = "tensorflow";
        file.Attributes["keras_version"] = "2.15.0";
        foreach (var c in Vgg19Layers.Convolutions)
        {
            var inner = new H5Group
            {
                ["kernel:0"] = new H5Dataset(source.Kernels[c.KerasName], fileDims: KerasWeightsFixture.KernelDims(c)),
                ["bias:0"] = source.Biases[c.KerasName],
            };
            var group = new H5Group { [c.KerasName] = inner };
            group.Attributes["weight_names"] = new[] { $"{c.KerasName}/kernel:0", $"{c.KerasName}/bias:0" };
            file[c.KerasName] = group;
        }
        string path = Path.Combine(source.Directory, "keras2.h5");
        file.Write(path);
        return path;
    }

    /// <summary>Keras 3 .weights.h5: layers/block1_conv1/vars/0 (kernel) and vars/1 (bias).</summary>
    string WriteKeras3Layout()
    {
        var layers = new H5Group();
        foreach (var c in Vgg19Layers.Convolutions)
            layers[c.KerasName] = new H5Group
            {
                ["vars"] = new H5Group
                {
                    ["0"] = new H5Dataset(source.Kernels[c.KerasName], fileDims: KerasWeightsFixture.KernelDims(c)),
                    ["1"] = source.Biases[c.KerasName],
                },
            };
        var file = new H5File { ["layers"] = layers, ["vars"] = new H5Group() };
        string path = Path.Combine(source.Directory, "model.weights.h5");
        file.Write(path);
        return path;
    }

    void AssertEveryTensorInPlace(NetworkWeights w)
    {
        foreach (var c in Vgg19Layers.Convolutions)
        {
            var keras = source.Kernels[c.KerasName];
            var ours = w.Kernels[c.Name];
            Assert.Equal(keras.Length, ours.Length);
            int ci = c.InChannels, co = c.OutChannels;
            // Every element: ours[o, i, ky, kx] == keras[ky, kx, i, o].
            for (int o = 0; o < co; o++)
                for (int i = 0; i < ci; i++)
                    for (int ky = 0; ky < 3; ky++)
                        for (int kx = 0; kx < 3; kx++)
                        {
                            float expected = keras[((ky * 3 + kx) * ci + i) * co + o], got = ours[((o * ci + i) * 3 + ky) * 3 + kx];
                            if (expected != got)
                                Assert.Fail($"{c.Name} w[{o},{i},{ky},{kx}] (fixture seed {source.Seed}): expected {expected} (keras [{ky},{kx},{i},{o}]), got {got}");
                        }
            Assert.Equal(source.Biases[c.KerasName], w.Biases[c.Name]);
        }
    }

    [Fact]
    public void LoadsKerasApplicationsNotopLayout() => AssertEveryTensorInPlace(Vgg19WeightsFile.Load(WriteApplicationsLayout("notop.h5")));

    [Fact]
    public void LoadsKeras2SaveWeightsLayout() => AssertEveryTensorInPlace(Vgg19WeightsFile.Load(WriteKeras2Layout()));

    [Fact]
    public void LoadsKeras3WeightsLayout() => AssertEveryTensorInPlace(Vgg19WeightsFile.Load(WriteKeras3Layout()));


    /// <summary>Files written by the real HDF5 library (superblock v0, as Keras writes), where python3-h5py is installed.</summary>
    [Fact]
    public void LoadsFileWrittenByH5py()
    {
        string python = "/usr/bin/python3";
        Assert.SkipUnless(File.Exists(python) && Run(python, "-c \"import h5py, numpy\"") == 0, "python3-h5py not installed (apt-get install python3-h5py)");
        string raw = Path.Combine(source.Directory, "raw");
        Directory.CreateDirectory(raw);
        foreach (var c in Vgg19Layers.Convolutions)
        {
            File.WriteAllBytes(Path.Combine(raw, c.KerasName + ".k"), System.Runtime.InteropServices.MemoryMarshal.AsBytes(source.Kernels[c.KerasName].AsSpan()).ToArray());
            File.WriteAllBytes(Path.Combine(raw, c.KerasName + ".b"), System.Runtime.InteropServices.MemoryMarshal.AsBytes(source.Biases[c.KerasName].AsSpan()).ToArray());
        }
        string output = Path.Combine(source.Directory, "h5py_notop.h5");
        string script = Path.Combine(source.Directory, "write.py");
        var specs = string.Join(",", Vgg19Layers.Convolutions.Select(c => $"('{c.KerasName}',{c.InChannels},{c.OutChannels})"));
        File.WriteAllText(script, $$"""
            import h5py, numpy as np, os
            raw = {{'"'}}{{raw}}{{'"'}}
            specs = [{{specs}}]
            names = [s[0] for s in specs]
            layer_names = []
            for b, n in [(1,2),(2,2),(3,4),(4,4),(5,4)]:
                layer_names += ['block%d_conv%d' % (b, i) for i in range(1, n + 1)] + ['block%d_pool' % b]
            with h5py.File({{'"'}}{{output}}{{'"'}}, 'w') as f:
                f.attrs['layer_names'] = [n.encode() for n in layer_names]
                for name in layer_names:
                    g = f.create_group(name)
                    if name.endswith('pool'):
                        g.attrs['weight_names'] = np.array([], dtype=np.float64)
                        continue
                    _, ci, co = specs[names.index(name)]
                    g.attrs['weight_names'] = [(name + '_W_1:0').encode(), (name + '_b_1:0').encode()]
                    g.create_dataset(name + '_W_1:0', data=np.fromfile(os.path.join(raw, name + '.k'), dtype=np.float32).reshape(3, 3, ci, co))
                    g.create_dataset(name + '_b_1:0', data=np.fromfile(os.path.join(raw, name + '.b'), dtype=np.float32))
            """);
        Assert.Equal(0, Run(python, script));
        AssertEveryTensorInPlace(Vgg19WeightsFile.Load(output));
    }

    static int Run(string exe, string args)
    {
        using var p = Process.Start(new ProcessStartInfo(exe, args) { RedirectStandardError = true, RedirectStandardOutput = true })!;
        p.WaitForExit();
        return p.ExitCode;
    }

    [Fact]
    public void RefusesMissingLayerNamingIt()
    {
        var path = WriteApplicationsLayout("missing.h5", include: c => c.Name != "conv3_2");
        var e = Assert.Throws<WeightsFileException>(() => Vgg19WeightsFile.Load(path));
        Assert.Contains("missing.h5", e.Message);
        Assert.Contains("block3_conv2", e.Message);
    }

    [Fact]
    public void RefusesWrongShapeNamingDataset()
    {
        var path = WriteApplicationsLayout("shape.h5", include: c => c.Name == "conv1_1",
            dims: c => new ulong[] { 3, 3, (ulong)c.OutChannels, (ulong)c.InChannels });
        var e = Assert.Throws<WeightsFileException>(() => Vgg19WeightsFile.Load(path));
        Assert.Contains("block1_conv1_W_1:0", e.Message);
        Assert.Contains("(3, 3, 64, 3)", e.Message);
    }

    [Fact]
    public void RefusesNonHdf5AndTruncatedFiles()
    {
        string text = Path.Combine(source.Directory, "weights.h5");
        File.WriteAllText(text, "this is not HDF5");
        Assert.Contains("not an HDF5 file", Assert.Throws<WeightsFileException>(() => Vgg19WeightsFile.Load(text)).Message);

        string full = WriteApplicationsLayout("full.h5");
        var bytes = File.ReadAllBytes(full);
        foreach (var fraction in new[] { 0.001, 0.5, 0.99 })
        {
            string truncated = Path.Combine(source.Directory, $"truncated{fraction}.h5");
            File.WriteAllBytes(truncated, bytes[..(int)(bytes.Length * fraction)]);
            var e = Assert.Throws<WeightsFileException>(() => Vgg19WeightsFile.Load(truncated));
            Assert.Contains($"truncated{fraction}.h5", e.Message);
        }
        Assert.Contains("does not exist", Assert.Throws<WeightsFileException>(() => Vgg19WeightsFile.Load(Path.Combine(source.Directory, "nope.h5"))).Message);
    }
}

[Collection(DeviceTests.Collection)]
public class WeightsOptionCliTests(KerasWeightsFixture source) : IClassFixture<KerasWeightsFixture>
{
    /// <summary>The command line takes a weights file with --weights and says which it used (no random-weights warning).</summary>
    [Fact]
    public void CliUsesWeightsGivenWithWeightsOption()
    {
        string weights = new WeightsFileTests(source).WriteKeras2Layout();
        using var images = new Transfer.TransferFixture();
        var (code, stdout, stderr) = Transfer.CliRunner.Run("transfer", "--content", images.Content, "--style", images.Stripes,
            "--weights", weights, "--image-size", "32", "--iterations", "1", "--device", "cpu", "--output", images.Output("w.png"),
            "--content-layers", "conv2_1", "--style-layers", "conv1_1,conv2_1");   // the file is read whole; the network stops at conv2_1
        Assert.True(code == 0, stderr);
        Assert.Contains($"weights: {weights}", stdout);
        Assert.DoesNotContain("random", stderr + stdout);
    }
}
