// The suite's outside oracle: VGG19 losses and the image gradient computed by libtorch (TorchSharp), on the same seeded
// random weights our engine uses (IlgpuStyle's NetworkWeights.Random, read through a project reference, copied into torch
// tensors, computed in float64 so that the oracle's own rounding is negligible). For a 32×48 image, a 32×48 content image and a 40×40 style image (integer patterns in caffe space, written
// into the fixture so the test reads the very same inputs), average and max pooling: the content loss ½Σ(F − P)² at
// conv4_2 and the style loss 10⁴ · Σ_l ⅕ · ¼Σ(G − A)² (G = FFᵀ/(C·H·W)) at conv1_1 … conv5_1, and d(content + style)/dx.
//
//   tools/libtorch-fixture.sh      (writes tests/IlgpuStyle.Tests/Model/Data/libtorch_vgg19.json)
using System.Globalization;
using System.Text;
using IlgpuStyle.Model;
using TorchSharp;
using static TorchSharp.torch;

string output = args.Length > 0 ? args[0] : "libtorch_vgg19.json";
const int seed = 1, height = 32, width = 48, styleSide = 40;
const double styleWeight = 1e4;
string[] styleLayers = { "conv1_1", "conv2_1", "conv3_1", "conv4_1", "conv5_1" };
torch.set_num_threads(Environment.ProcessorCount);

var weights = NetworkWeights.Random(seed);
var convolutions = Vgg19Layers.Convolutions.Take(13).ToList();   // conv1_1 … conv5_1
var layers = convolutions.Select(c => (c.Name,
    W: torch.tensor(weights.Kernels[c.Name], new long[] { c.OutChannels, c.InChannels, 3, 3 }, ScalarType.Float32).to_type(ScalarType.Float64),
    B: torch.tensor(weights.Biases[c.Name], new long[] { c.OutChannels }, ScalarType.Float32).to_type(ScalarType.Float64))).ToList();

// Integer patterns in [-120, 120]: exact in float32, different per channel, not smooth.
float[] Pattern(int h, int w, int a, int b, int c) =>
    Enumerable.Range(0, 3 * h * w).Select(i => (float)(((i % w) * a + (i / w % h) * b + (i / (h * w)) * c) % 241 - 120)).ToArray();
var xData = Pattern(height, width, 7, 13, 29);
var contentData = Pattern(height, width, 11, 5, 17);
var styleData = Pattern(styleSide, styleSide, 3, 19, 23);

var sb = new StringBuilder();
sb.Append(CultureInfo.InvariantCulture, $"{{\n\"source\": \"libtorch {torch.__version__} (TorchSharp-cpu 0.107.0), float32, tools/libtorch-fixture.sh\",\n");
sb.Append(CultureInfo.InvariantCulture, $"\"weights_seed\": {seed}, \"height\": {height}, \"width\": {width}, \"style_side\": {styleSide}, \"style_weight\": {styleWeight}, \"content_layer\": \"conv4_2\",\n");
sb.Append($"\"x\": [{Join(xData)}],\n\"content\": [{Join(contentData)}],\n\"style\": [{Join(styleData)}],\n\"cases\": [\n");

foreach (var pooling in new[] { "avg", "max" })
{
    Dictionary<string, Tensor> Forward(Tensor x)
    {
        var features = new Dictionary<string, Tensor>();
        foreach (var (name, w, b) in layers)
        {
            if (name.EndsWith("_1") && name != "conv1_1")
                x = pooling == "avg" ? nn.functional.avg_pool2d(x, 2) : nn.functional.max_pool2d(x, 2);
            x = nn.functional.relu(nn.functional.conv2d(x, w, b, padding: new long[] { 1, 1 }));
            features[name] = x;
        }
        return features;
    }
    Tensor Gram(Tensor f)
    {
        var (c, m) = (f.shape[1], f.shape[2] * f.shape[3]);
        var flat = f.reshape(c, m);
        return flat.matmul(flat.t()) / (c * m);
    }
    Tensor contentTarget; Dictionary<string, Tensor> styleTargets;
    using (torch.no_grad())
    {
        contentTarget = Forward(torch.tensor(contentData, new long[] { 1, 3, height, width }).to_type(ScalarType.Float64))["conv4_2"].detach();
        var sf = Forward(torch.tensor(styleData, new long[] { 1, 3, styleSide, styleSide }).to_type(ScalarType.Float64));
        styleTargets = styleLayers.ToDictionary(l => l, l => Gram(sf[l]).detach());
    }
    var image = torch.tensor(xData, new long[] { 1, 3, height, width }).to_type(ScalarType.Float64).requires_grad_(true);
    var f = Forward(image);
    var contentLoss = 0.5 * (f["conv4_2"] - contentTarget).pow(2).sum();
    var styleLoss = torch.zeros(1, ScalarType.Float64).sum();
    foreach (var l in styleLayers)
        styleLoss = styleLoss + styleWeight / styleLayers.Length * 0.25 * (Gram(f[l]) - styleTargets[l]).pow(2).sum();
    (contentLoss + styleLoss).backward();
    var gradient = image.grad!.to_type(ScalarType.Float32).contiguous().data<float>().ToArray();
    sb.Append(CultureInfo.InvariantCulture,
        $"{{\"pooling\": \"{pooling}\", \"content_loss\": {contentLoss.item<double>():R}, \"style_loss\": {styleLoss.item<double>():R},\n \"gradient\": [{Join(gradient)}]}}");
    sb.Append(pooling == "avg" ? ",\n" : "\n");
    Console.WriteLine($"{pooling}: content {contentLoss.item<double>():G12}, style {styleLoss.item<double>():G12}, |grad| {Math.Sqrt(gradient.Sum(g => (double)g * g)):G6}");
}
sb.Append("]\n}\n");
File.WriteAllText(output, sb.ToString());
Console.WriteLine($"wrote {output}");

static string Join(IEnumerable<float> values) => string.Join(",", values.Select(v => v.ToString("G9", CultureInfo.InvariantCulture)));
