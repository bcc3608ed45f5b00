using IlgpuStyle.Imaging;
using IlgpuStyle.Model;

namespace IlgpuStyle.Tests.Model;

/// <summary>The weights files tools/weights-fixtures.py wrote with the formats' own libraries (tools/test.sh runs it).</summary>
static class WeightsFixtures
{
    static string Folder => System.IO.Path.Combine(Environment.GetEnvironmentVariable("XDG_CACHE_HOME") is { Length: > 0 } c ? c
        : System.IO.Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".cache"), "ilgpustyle", "fixtures", "weights-v4");

    public static string Path(string name)
    {
        Assert.SkipUnless(File.Exists(System.IO.Path.Combine(Folder, "DONE")),
            $"no fixtures in {Folder}: tools/test.sh writes them where /usr/bin/python3 has torch, h5py and protobuf and protoc is installed " +
            "(apt-get install python3-torch python3-h5py python3-protobuf python3-onnx protobuf-compiler)");
        return System.IO.Path.Combine(Folder, name);
    }

    /// <summary>Loading the fixture fails with one line that says <paramref name="expected"/>, and leaves the file as it was; returns the line.</summary>
    public static string Refused(string name, string expected)
    {
        string path = Path(name);
        var before = File.ReadAllBytes(path);
        var e = Assert.Throws<WeightsFileException>(() => Networks.LoadVgg19(path));
        Assert.Contains(expected, e.Message);
        Assert.DoesNotContain('\n', e.Message);
        Assert.Equal(before, File.ReadAllBytes(path));
        return e.Message;
    }

    /// <summary>Loading a file of these bytes, under a temporary name ending in `extension`, fails with one line; returns it.</summary>
    public static string RefusedBytes(string extension, byte[] bytes)
    {
        string path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), $"ilgpustyle-{Guid.NewGuid():N}{extension}");
        File.WriteAllBytes(path, bytes);
        try
        {
            var e = Assert.Throws<WeightsFileException>(() => Networks.LoadVgg19(path));
            Assert.DoesNotContain('\n', e.Message);
            return e.Message;
        }
        finally { File.Delete(path); }
    }
}

/// <summary>
/// PyTorch state dicts written by PyTorch itself (tools/weights-fixtures.py, run by tools/test.sh where python3-torch
/// and python3-h5py are installed): both formats read the same numbers as the Keras file h5py wrote from them; a pickle
/// naming anything else is refused by name; VGG16's layout, a ResNet's keys and truncated files get one clear line.
/// </summary>
[Collection(DeviceTests.Collection)]   // its command-line test evaluates on the shared default device
public class PthWeightsTests(ITestOutputHelper output)
{
    static string Fixture(string name) => WeightsFixtures.Path(name);

    [Theory]
    [InlineData("vgg19_seeded_zip.pth")]
    [InlineData("vgg19_seeded_legacy.pth")]
    [InlineData("vgg19_checkpoint.pth")]
    public void BothFormatsReadTheNumbersOfTheKerasFile(string file)
    {
        var keras = Vgg19WeightsFile.Load(Fixture("vgg19_seeded.h5"));
        var pth = PthWeightsFile.Load(Fixture(file), InputPreprocessing.Caffe);
        output.WriteLine(File.ReadAllText(Fixture("DONE")));
        foreach (var spec in Vgg19Layers.Convolutions)
        {
            Assert.True(keras.Kernels[spec.Name].AsSpan().SequenceEqual(pth.Kernels[spec.Name]), $"{spec.Name}: kernels differ from the Keras file's");
            Assert.True(keras.Biases[spec.Name].AsSpan().SequenceEqual(pth.Biases[spec.Name]), $"{spec.Name}: biases differ");
        }
        Assert.Equal(InputPreprocessing.Caffe, pth.Preprocessing);
    }

    /// <summary>
    /// torch preprocessing folded into conv1_1: at every pixel whose 3×3 window lies inside the image, conv1_1 of the folded
    /// weights on our image (BGR minus Caffe's means) equals conv1_1 of the file's weights on torchvision's input, in float64.
    /// </summary>
    [Fact]
    public void TorchPreprocessingFoldsIntoTheFirstConvolution()
    {
        var raw = PthWeightsFile.Load(Fixture("vgg19_seeded_zip.pth"), InputPreprocessing.Caffe);
        var folded = InputPreprocessing.Torch.FoldInto(raw);
        const int seed = 31, w = 7, h = 5;
        output.WriteLine($"seed {seed}");
        var rng = new Random(seed);
        var image = new RgbImage(w, h);
        for (int i = 0; i < image.Data.Length; i++) image.Data[i] = (float)(rng.NextDouble() * 255);
        var ours = Preprocessing.ToNetwork(image);   // (3, h, w) BGR minus means
        double[] mean = { 0.485, 0.456, 0.406 }, std = { 0.229, 0.224, 0.225 };
        double worst = 0;
        var spec = Vgg19Layers.Convolutions[0];
        for (int o = 0; o < spec.OutChannels; o++)
            for (int y = 1; y < h - 1; y++)
                for (int x = 1; x < w - 1; x++)
                {
                    double a = folded.Biases[spec.Name][o], b = raw.Biases[spec.Name][o];
                    for (int c = 0; c < 3; c++)
                        for (int ky = 0; ky < 3; ky++)
                            for (int kx = 0; kx < 3; kx++)
                            {
                                int p = (y + ky - 1) * w + (x + kx - 1);
                                a += folded.Kernels[spec.Name][((o * 3 + c) * 3 + ky) * 3 + kx] * ours[c * w * h + p];
                                // torchvision's input: RGB channel c of the pixel in [0, 1], normalized.
                                double z = (image.Data[p * 3 + c] / 255.0 - mean[c]) / std[c];
                                b += raw.Kernels[spec.Name][((o * 3 + c) * 3 + ky) * 3 + kx] * z;
                            }
                    worst = Math.Max(worst, Math.Abs(a - b) / (1 + Math.Abs(b)));
                }
        output.WriteLine($"worst relative difference {worst:E2}");
        Assert.True(worst < 1e-5, $"folded conv1_1 differs from the file's on torchvision's input by {worst:E2}");
        Assert.Equal(InputPreprocessing.Torch, folded.Preprocessing);
        Assert.Equal(raw.Kernels["conv1_2"], folded.Kernels["conv1_2"]);   // only the first layer changes
    }

    public static TheoryData<string, string> Refused => new()
    {
        { "evil.pth", "refused: its pickle names posix.system" },
        { "evil_legacy.pth", "refused: its pickle names posix.system" },
        { "vgg16_layout.pth", "is this VGG16?" },
        { "resnet_keys.pth", "a ResNet's, not VGG19's" },
        { "truncated_vgg19_seeded_zip.pth", "vgg19_seeded_zip.pth" },
        { "truncated_vgg19_seeded_legacy.pth", "truncated" },
    };

    [Theory, MemberData(nameof(Refused))]
    public void RefusedInOneLine(string file, string expected) => output.WriteLine(WeightsFixtures.Refused(file, expected));

    /// <summary>The command line: one evaluation on the .pth, .caffemodel and .onnx files gives the Keras file's losses where the
    /// preprocessing is the same, and another where it is not.</summary>
    [Fact]
    public void ARunOnThePthFileEqualsOneOnTheKerasFile()
    {
        string demo = Path.Combine(AppContext.BaseDirectory, "demo");
        string Loss(string weights, params string[] more)
        {
            var (code, stdout, stderr) = Transfer.CliRunner.Run(new[] { "explain", "--model", "vgg19", "--weights", weights, "--image-size", "32",
                "--style-layers", "conv1_1,conv2_1", "--content-layers", "conv2_1", "--values", "-c", Path.Combine(demo, "chelsea.png"), "-s", Path.Combine(demo, "mosaic.png") }.Concat(more).ToArray());
            Assert.True(code == 0, stderr);
            return stdout.Split('\n').Single(l => l.StartsWith("Loss of this evaluation"));
        }
        string keras = Loss(Fixture("vgg19_seeded.h5"));
        output.WriteLine(keras);
        Assert.Equal(keras, Loss(Fixture("vgg19_seeded_zip.pth"), "--preprocess", "caffe"));
        Assert.Equal(keras, Loss(Fixture("vgg19_seeded_legacy.pth"), "--preprocess", "caffe"));
        Assert.Equal(keras, Loss(Fixture("vgg19_seeded_v1.caffemodel")));   // Caffe's preprocessing is the format's default
        Assert.Equal(keras, Loss(Fixture("vgg19_seeded.onnx"), "--preprocess", "caffe"));
        Assert.NotEqual(keras, Loss(Fixture("vgg19_seeded_zip.pth")));   // by default a .pth takes torchvision's preprocessing
    }
}
