using System.Text.Json;
using IlgpuStyle.Model;
using IlgpuStyle.Transfer;

namespace IlgpuStyle.Tests.Model;

/// <summary>
/// The one oracle that is not our code: losses and the image gradient of VGG19 computed by libtorch on the same seeded
/// random weights (Model/Data/libtorch_vgg19.json, written by tools/libtorch-fixture.sh), for average and max pooling.
/// Losses and gradient within <see cref="Tolerance.LibtorchLoss"/> and <see cref="Tolerance.LibtorchGradient"/>, on every accelerator.
/// </summary>
[Collection(DeviceTests.Collection)]
public class LibtorchFixtureTests
{
    static readonly Lazy<JsonDocument> fixture = new(() =>
        JsonDocument.Parse(File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "Model", "Data", "libtorch_vgg19.json"))));

    static float[] Floats(JsonElement e) => e.EnumerateArray().Select(v => v.GetSingle()).ToArray();

    [Theory, MemberData(nameof(Accelerators.All), MemberType = typeof(Accelerators))]
    public void LossesAndImageGradientMatchLibtorch(AcceleratorCase accelerator)
    {
        var d = Accelerators.Get(accelerator);
        var root = fixture.Value.RootElement;
        int h = root.GetProperty("height").GetInt32(), w = root.GetProperty("width").GetInt32(), side = root.GetProperty("style_side").GetInt32();
        var cases = root.GetProperty("cases").EnumerateArray().ToList();
        Assert.Equal(2, cases.Count);
        foreach (var c in cases)
        {
            var pooling = c.GetProperty("pooling").GetString() == "max" ? Pooling.Max : Pooling.Average;
            var o = new StyleTransferOptions
            {
                ContentPath = "", StylePaths = Array.Empty<string>(), Pooling = pooling, TvWeight = 0, ContentWeight = 1,
                StyleWeight = root.GetProperty("style_weight").GetDouble(), ContentLayers = new[] { root.GetProperty("content_layer").GetString()! },
            };
            using var vgg = new Network(d, NetworkWeights.Random(root.GetProperty("weights_seed").GetInt32()), pooling, "conv5_1");
            using var x = Tensor.FromArray(d, new Shape4(1, 3, h, w), Floats(root.GetProperty("x")), "x");
            using var content = Tensor.FromArray(d, new Shape4(1, 3, h, w), Floats(root.GetProperty("content")), "content");
            using var style = Tensor.FromArray(d, new Shape4(1, 3, side, side), Floats(root.GetProperty("style")), "style");
            using var objective = new StyleObjective(vgg, x, content, new[] { (style, 1.0) }, o);
            objective.Evaluate();
            string where = $"{accelerator} {pooling} pooling vs libtorch";
            Compare.Scalar("content loss", c.GetProperty("content_loss").GetDouble(), objective.Last.Content, Tolerance.LibtorchLoss, where);
            Compare.Scalar("style loss", c.GetProperty("style_loss").GetDouble(), objective.Last.Style, Tolerance.LibtorchLoss, where);
            Compare.RelativeL2("image gradient", Floats(c.GetProperty("gradient")).Select(v => (double)v).ToArray(), objective.Gradient.ToArray(), Tolerance.LibtorchGradient, where);
        }
    }
}
