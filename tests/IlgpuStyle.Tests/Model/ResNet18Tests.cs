using IlgpuStyle.Autodiff;
using IlgpuStyle.Devices;
using IlgpuStyle.Model;
using ProtoBuf;

namespace IlgpuStyle.Tests.Model;

/// <summary>
/// The bundled ResNet18 (ML.NET's ONNX file, BatchNorm folded at load) against an outside oracle: ML.NET's own featurizer
/// test (DnnImageFeaturizerTest: input[i] = i/150528 for a 1×3×224×224 image through the preprocessing graph, expects
/// output[7] ∈ [0.62935, 0.62940], output[500] ∈ [0.15521, 0.155225], Σ output ∈ [83.5, 84.5]), where the output is the
/// global 7×7 average of the last ReLU. And the loader's refusals, one line each.
/// </summary>
[Collection(DeviceTests.Collection)]
public class ResNet18Tests
{
    static string Model => Path.Combine(AppContext.BaseDirectory, "models", "ResNet18.onnx");
    static string Preprocess => Path.Combine(AppContext.BaseDirectory, "models", "ResNetPreprocess.onnx");

    static readonly Lazy<NetworkWeights> Weights = new(() => ResNet18WeightsFile.Load(Model));

    /// <summary>Where the build left no model (the GPU bundle, which cannot carry its 61 MiB), the tests skip, saying so.</summary>
    internal static void RequireModel()
    {
        if (!File.Exists(Model)) Assert.Skip($"no {Model}: the bundled ResNet18 is not beside this build (the GPU bundle leaves it out)");
    }

    /// <summary>ML.NET's test input: planar RGB values i/150528, made BGR and less the mean image, as its preprocessing graph does.</summary>
    static float[] OracleInput()
    {
        const int plane = 224 * 224;
        var mean = ResNet18WeightsFile.MeanImage(Preprocess);
        var x = new float[3 * plane];
        for (int c = 0; c < 3; c++)   // BGR channel c is RGB channel 2 − c
            for (int p = 0; p < plane; p++)
                x[c * plane + p] = (float)((2 - c) * plane + p) / (3 * plane) - mean[c * plane + p];
        return x;
    }

    [Theory, MemberData(nameof(Accelerators.All), MemberType = typeof(Accelerators))]
    public void MatchesMlNetsOwnFeaturizerTest(AcceleratorCase accelerator)
    {
        var d = Accelerators.Get(accelerator);
        RequireModel();
        using var net = new Network(d, Weights.Value, Pooling.Max);
        using var image = Tensor.FromArray(d, new Shape4(1, 3, 224, 224), OracleInput(), "image");
        using var acts = net.Plan(image.Shape, "layer4");
        using var tape = new Tape();
        net.Forward(tape, image, acts);
        var last = acts["layer4"];
        Assert.Equal(new Shape4(1, 512, 7, 7), last.Shape);
        var values = last.ToArray();
        var features = Enumerable.Range(0, 512).Select(c => values.Skip(c * 49).Take(49).Sum(v => (double)v) / 49).ToArray();
        string where = $"{accelerator}: output[7] {features[7]:G7}, output[500] {features[500]:G7}, sum {features.Sum():G7}";
        Assert.True(features[7] is >= 0.62935 and <= 0.62940, where);
        Assert.True(features[500] is >= 0.15521 and <= 0.155225, where);
        Assert.True(features.Sum() is >= 83.5 and <= 84.5, where);
    }

    [Fact]
    public void TheTableMatchesTheFilesGraph()
    {
        RequireModel();
        var w = Weights.Value;
        var description = ResNet18Layers.Description;
        Assert.Equal(22, description.Convolutions.Count());   // the stem, two per block (9 blocks), three shortcuts
        Assert.Equal(description.Convolutions.Select(c => c.Name).Order(), w.Kernels.Keys.Order());
        // 15.9 M parameters in the file; BN folded, every conv keeps its filters and gains a bias.
        long parameters = description.Convolutions.Sum(c => (long)c.OutChannels * c.InChannels * c.Kernel * c.Kernel + c.OutChannels);
        Assert.InRange(parameters, 15_000_000, 16_000_000);
        // Sizes follow the table: 224² gives 112 (stem), 56 (pool, stage 1), 28, 14, 7; odd sizes round up.
        var shapes = description.Shapes(new Shape4(1, 3, 224, 224), "layer4");
        Assert.Equal(new[] { 112, 56, 56, 28, 14, 7 }, new[] { "stem", "pool", "layer1", "layer2", "layer3", "layer4" }.Select(l => shapes[description.Canonical(l)].H));
        var odd = description.Shapes(new Shape4(1, 3, 101, 75), "layer4");
        Assert.Equal((4, 3), (odd["layer4.2"].H, odd["layer4.2"].W));   // 101 → 51 → 26 → 13 → 7 → 4; 75 → 38 → 19 → 10 → 5 → 3
        Assert.Equal("layer4.2", description.Canonical("ReLU393"));
        Assert.Equal("layer2.1", description.Canonical("layer2"));
    }

    [Fact]
    public void BadFilesAreOneLineEach()
    {
        RequireModel();
        string dir = Path.Combine(Path.GetTempPath(), $"ilgpustyle-onnx-{Environment.ProcessId}");
        Directory.CreateDirectory(dir);
        try
        {
            // Truncated: the first half of the real file.
            var bytes = File.ReadAllBytes(Model);
            string truncated = Path.Combine(dir, "truncated.onnx");
            File.WriteAllBytes(truncated, bytes[..(bytes.Length / 2)]);
            var e = Assert.Throws<WeightsFileException>(() => ResNet18WeightsFile.Load(truncated));
            Assert.Contains("truncated.onnx", e.Message);
            Assert.DoesNotContain("\n", e.Message);
            // Not protobuf at all.
            string text = Path.Combine(dir, "text.onnx");
            File.WriteAllText(text, "this is not an ONNX model\n");
            e = Assert.Throws<WeightsFileException>(() => ResNet18WeightsFile.Load(text));
            Assert.Contains("text.onnx", e.Message);
            // A graph with an op we do not run, written by the protobuf library from the real graph.
            var model = ResNet18WeightsFile.Read(Model);
            model.Graph!.Node[2].OpType = "Softmax";
            string unknown = Path.Combine(dir, "softmax.onnx");
            using (var s = File.Create(unknown)) Serializer.Serialize(s, model);
            e = Assert.Throws<WeightsFileException>(() => ResNet18WeightsFile.Load(unknown));
            Assert.Contains("op Softmax, which IlgpuStyle does not run", e.Message);
            // Another structure: the last block's residual add made a ReLU of one branch.
            model = ResNet18WeightsFile.Read(Model);
            Assert.Equal("Add", model.Graph!.Node[^3].OpType);
            model.Graph.Node[^3].OpType = "Relu";
            model.Graph.Node[^3].Input.RemoveAt(1);
            string other = Path.Combine(dir, "other.onnx");
            using (var s = File.Create(other)) Serializer.Serialize(s, model);
            e = Assert.Throws<WeightsFileException>(() => ResNet18WeightsFile.Load(other));
            Assert.Contains("is not the ResNet18 IlgpuStyle knows", e.Message);
        }
        finally { Directory.Delete(dir, recursive: true); }
    }
}
