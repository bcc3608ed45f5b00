// One style-transfer iteration in libtorch (TorchSharp), the same work as `ilgpustyle bench`:
// VGG19 (random He-initialized weights) to conv5_1 with average pooling, content loss at conv4_2,
// style losses (Gram / CHW) at conv1_1 … conv5_1, TV loss, backward to the image, one Adam step;
// or, with `--model resnet18`, the bundled ResNet18 with the same folded weights IlgpuStyle runs
// (read by IlgpuStyle's own loader: conv + bias, ReLU, 3×3/2 max pooling, residual add + ReLU),
// content and style at its default layers; fp32; square image of --size. Prints ms per iteration
// (median of --repeats) and one line "libtorch_ms=…" for tools/bench.
using System.Diagnostics;
using TorchSharp;
using static TorchSharp.torch;

int size = 256, repeats = 5, threads = Environment.ProcessorCount;
string model = "vgg19";
for (int i = 0; i < args.Length - 1; i++)
{
    if (args[i] == "--model") model = args[i + 1].ToLowerInvariant();
    if (args[i] == "--size") size = int.Parse(args[i + 1]);
    if (args[i] == "--repeats") repeats = int.Parse(args[i + 1]);
    if (args[i] == "--threads") threads = int.Parse(args[i + 1]);
}
torch.set_num_threads(threads);
torch.manual_seed(1);

string contentLayer = "conv4_2";
string[] styleLayers = { "conv1_1", "conv2_1", "conv3_1", "conv4_1", "conv5_1" };
Func<Tensor, Dictionary<string, Tensor>> Forward;
if (model == "resnet18")
{
    var description = IlgpuStyle.Model.ResNet18Layers.Description;
    var weights = IlgpuStyle.Model.ResNet18WeightsFile.LoadBundled();
    var parameters = description.Convolutions.ToDictionary(c => c.Name, c => (
        W: torch.tensor(weights.Kernels[c.Name], new long[] { c.OutChannels, c.InChannels, c.Kernel, c.Kernel }),
        B: torch.tensor(weights.Biases[c.Name], new long[] { c.OutChannels })));
    contentLayer = description.Canonical(description.Defaults.ContentLayers[0]);
    styleLayers = description.Defaults.StyleLayers.Select(description.Canonical).ToArray();
    var deepest = description.Deepest(styleLayers.Append(contentLayer));
    Forward = x =>
    {
        var f = new Dictionary<string, Tensor> { ["image"] = x };
        foreach (var l in description.Through(deepest))
        {
            var input = f[l.Inputs[0]];
            f[l.Name] = l.Op switch
            {
                IlgpuStyle.Model.LayerOp.Conv => Relu(l.Relu, nn.functional.conv2d(input, parameters[l.Name].W, parameters[l.Name].B,
                    strides: new long[] { l.Stride, l.Stride }, padding: new long[] { l.Pad, l.Pad })),
                IlgpuStyle.Model.LayerOp.MaxPoolWindow => nn.functional.max_pool2d(input, new long[] { l.Kernel, l.Kernel },
                    new long[] { l.Stride, l.Stride }, new long[] { l.Pad, l.Pad }),
                IlgpuStyle.Model.LayerOp.AddRelu => nn.functional.relu(input + f[l.Inputs[1]]),
                _ => throw new InvalidOperationException($"no {l.Op} in ResNet18"),
            };
        }
        return f;
    };
    static Tensor Relu(bool relu, Tensor t) => relu ? nn.functional.relu(t) : t;
}
else
{
    int[] perBlock = { 2, 2, 4, 4, 1 };   // up to conv5_1
    int[] channels = { 64, 128, 256, 512, 512 };
    var layers = new List<(string Name, Tensor W, Tensor B)>();
    int inC = 3;
    for (int block = 0; block < 5; block++)
        for (int i = 0; i < perBlock[block]; i++)
        {
            int outC = channels[block];
            var w = torch.randn(outC, inC, 3, 3) * Math.Sqrt(2.0 / (inC * 9));
            layers.Add(($"conv{block + 1}_{i + 1}", w, torch.zeros(outC)));
            inC = outC;
        }
    Forward = x =>
    {
        var features = new Dictionary<string, Tensor>();
        foreach (var (name, w, b) in layers)
        {
            if (name.EndsWith("_1") && name != "conv1_1") x = nn.functional.avg_pool2d(x, 2);
            x = nn.functional.relu(nn.functional.conv2d(x, w, b, padding: new long[] { 1, 1 }));
            features[name] = x;
        }
        return features;
    };
}

Tensor Gram(Tensor f)
{
    var (c, m) = (f.shape[1], f.shape[2] * f.shape[3]);
    var flat = f.reshape(c, m);
    return flat.matmul(flat.t()) / (c * m);
}

using var noGrad = torch.no_grad();
var content = torch.rand(1, 3, size, size) * 255 - 128;
var style = torch.rand(1, 3, size, size) * 255 - 128;
var contentTarget = Forward(content)[contentLayer].detach();
var styleFeatures = Forward(style);
var styleTargets = styleLayers.ToDictionary(l => l, l => Gram(styleFeatures[l]).detach());
noGrad.Dispose();

var image = new TorchSharp.Modules.Parameter(torch.rand(1, 3, size, size) * 255 - 128);
var optimizer = optim.Adam(new[] { image }, lr: 1.0);

void Iterate()
{
    optimizer.zero_grad();
    var f = Forward(image);
    var loss = 0.5 * (f[contentLayer] - contentTarget).pow(2).sum();
    foreach (var l in styleLayers)
        loss = loss + 1e4 / styleLayers.Length * 0.25 * (Gram(f[l]) - styleTargets[l]).pow(2).sum();
    var dx = image[.., .., .., 1..] - image[.., .., .., ..^1];
    var dy = image[.., .., 1.., ..] - image[.., .., ..^1, ..];
    loss = loss + 1e-3 * (dx.pow(2).sum() + dy.pow(2).sum());
    loss.backward();
    optimizer.step();
    loss.item<float>();
}

var first = Stopwatch.StartNew();
Iterate();
double firstMs = first.Elapsed.TotalMilliseconds;
var times = new List<double>();
for (int i = 0; i < repeats; i++)
{
    var t = Stopwatch.StartNew();
    using (var scope = torch.NewDisposeScope()) Iterate();
    times.Add(t.Elapsed.TotalMilliseconds);
}
times.Sort();
double median = times.Count % 2 == 1 ? times[times.Count / 2] : (times[times.Count / 2 - 1] + times[times.Count / 2]) / 2;
Console.WriteLine($"libtorch {torch.__version__} on {threads} threads, {model}, {size}×{size}: {median:F1} ms per iteration (median of {repeats}; first {firstMs:F0} ms)");
Console.WriteLine($"libtorch_ms={median:F1}");
