// One style-transfer iteration in libtorch (TorchSharp), the same work as `ilgpustyle bench`:
// VGG19 (random He-initialized weights) to conv5_1 with average pooling, content loss at conv4_2,
// style losses (Gram / CHW) at conv1_1 … conv5_1, TV loss, backward to the image, one Adam step;
// fp32; square image of --size. Prints ms per iteration (median of --repeats) and one line
// "libtorch_ms=…" for tools/bench.
using System.Diagnostics;
using TorchSharp;
using static TorchSharp.torch;

int size = 256, repeats = 5, threads = Environment.ProcessorCount;
for (int i = 0; i < args.Length - 1; i++)
{
    if (args[i] == "--size") size = int.Parse(args[i + 1]);
    if (args[i] == "--repeats") repeats = int.Parse(args[i + 1]);
    if (args[i] == "--threads") threads = int.Parse(args[i + 1]);
}
torch.set_num_threads(threads);
torch.manual_seed(1);

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
string[] styleLayers = { "conv1_1", "conv2_1", "conv3_1", "conv4_1", "conv5_1" };

Dictionary<string, Tensor> Forward(Tensor x)
{
    var features = new Dictionary<string, Tensor>();
    foreach (var (name, w, b) in layers)
    {
        if (name.EndsWith("_1") && name != "conv1_1") x = nn.functional.avg_pool2d(x, 2);
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

using var noGrad = torch.no_grad();
var content = torch.rand(1, 3, size, size) * 255 - 128;
var style = torch.rand(1, 3, size, size) * 255 - 128;
var contentTarget = Forward(content)["conv4_2"].detach();
var styleFeatures = Forward(style);
var styleTargets = styleLayers.ToDictionary(l => l, l => Gram(styleFeatures[l]).detach());
noGrad.Dispose();

var image = new TorchSharp.Modules.Parameter(torch.rand(1, 3, size, size) * 255 - 128);
var optimizer = optim.Adam(new[] { image }, lr: 1.0);

void Iterate()
{
    optimizer.zero_grad();
    var f = Forward(image);
    var loss = 0.5 * (f["conv4_2"] - contentTarget).pow(2).sum();
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
Console.WriteLine($"libtorch {torch.__version__} on {threads} threads, {size}×{size}: {median:F1} ms per iteration (median of {repeats}; first {firstMs:F0} ms)");
Console.WriteLine($"libtorch_ms={median:F1}");
