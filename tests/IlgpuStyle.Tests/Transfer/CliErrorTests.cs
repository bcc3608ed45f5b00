using System.Security.Cryptography;

namespace IlgpuStyle.Tests.Transfer;

/// <summary>Every bad value: one clear line on stderr, a non-zero exit, no stack trace, no input touched.</summary>
[Collection(DeviceTests.Collection)]
public class CliErrorTests(TransferFixture images) : IClassFixture<TransferFixture>
{
    public static TheoryData<string, string, string> Cases => new()
    {
        { "missing content", "--content {dir}/nope.png --style {stripes}", "does not exist" },
        { "missing style", "--content {content} --style {dir}/nope.png", "does not exist" },
        { "unreadable content", "--content {dir}/garbage.png --style {stripes} --device cpu", "garbage.png" },
        { "negative content weight", "--content {content} --style {stripes} --content-weight -1", "must not be negative" },
        { "negative style weight", "--content {content} --style {stripes} --style-weight -5", "must not be negative" },
        { "unknown layer", "--content {content} --style {stripes} --model vgg19 --style-layers conv1_1,conv9_9", "unknown VGG19 layer 'conv9_9'" },
        { "the other network's layer", "--content {content} --style {stripes} --model resnet18 --style-layers stem,conv2_1", "unknown ResNet18 layer 'conv2_1': use stem, layer1" },
        { "unknown model", "--content {content} --style {stripes} --model vgg16", "--model must be vgg19 or resnet18, got 'vgg16'" },
        { "resnet18 with avg pooling", "--content {content} --style {stripes} --model resnet18 --pooling avg", "ResNet18 keeps the max pooling it was trained with" },
        { "a pre-ReLU resnet layer", "--content {content} --style {stripes} --model resnet18 --style-layers layer1.0.conv2", "has no ReLU after it" },
        { "size zero", "--content {content} --style {stripes} --image-size 0", "--image-size must be positive" },
        { "blend mismatch", "--content {content} --style {stripes} --style {dots} --style-blend-weights 1,2,3", "3 values for 2 style image(s)" },
        { "output is an input", "--content {content} --style {stripes} --output {content}", "is also an input" },
        { "output is the style", "--content {content} --style {stripes} --output {dir}/../{dirname}/stripes.png", "is also an input" },
        { "gram has no direct variant", "--content {content} --style {stripes} --gram direct", "--gram must be naive, blocked, tiled, rows, got 'direct'" },
        { "bad optimizer", "--content {content} --style {stripes} --optimizer sgd", "--optimizer must be lbfgs or adam" },
        { "negative seed", "--content {content} --style {stripes} --seed -2", "--seed must be -1 (a random seed) or a whole number from 0, got -2" },
        { "bad device", "--content {content} --style {stripes} --device tpu", "unknown device 'tpu'" },
        { "device index", "--content {content} --style {stripes} --device cpu:7", "no Cpu device 7" },
        { "missing weights", "--content {content} --style {stripes} --weights {dir}/none.h5", "does not exist" },
        { "bad output type", "--content {content} --style {stripes} --output {dir}/out.gif", "must end in .png, .jpg or .jpeg" },
        { "no style", "--content {content}", "at least one --style image is needed" },
        { "content mask count", "--content {content} --style {stripes} --style {dots} --content-mask {stripes}", "1 --content-mask image(s) for 2 style image(s)" },
        { "style mask count", "--content {content} --style {stripes} --style-mask {stripes} --style-mask {dots}", "2 --style-mask image(s) for 1 style image(s)" },
        { "missing mask", "--content {content} --style {stripes} --content-mask {dir}/nope.png", "does not exist" },
        { "empty mask", "--content {content} --style {stripes} --content-mask {dir}/black.png", "is empty" },
        { "garbage mask", "--content {content} --style {stripes} --style-mask {dir}/garbage.png", "garbage.png" },
        { "bad colour control", "--content {content} --style {stripes} --color-control sepia", "--color-control must be none, luminance or histogram" },
        { "bad histogram mode", "--content {content} --style {stripes} --histogram-mode lab", "--histogram-mode must be chol, pca or sym" },
        { "fine without coarse", "--content {content} --fine-style {stripes}", "needs both --fine-style and --coarse-style" },
        { "style and fine", "--content {content} --style {stripes} --fine-style {stripes} --coarse-style {dots}", "--style cannot be combined" },
        { "split not a style layer", "--content {content} --model vgg19 --fine-style {stripes} --coarse-style {dots} --style-split conv4_2", "is not one of the style layers" },
        { "split leaves no fine layer", "--content {content} --model vgg19 --fine-style {stripes} --coarse-style {dots} --style-split conv1_1", "leaves no style layer before it" },
        { "bad layer weights", "--content {content} --style {stripes} --style-layer-weights auto,1", "'auto' is not a number" },
        { "zero iterations", "--content {content} --style {stripes} --iterations 0", "--iterations must be at least 1, got 0" },
        { "negative print interval", "--content {content} --style {stripes} --print-every -1", "--print-every must not be negative" },
        { "content is a directory", "--content {dir} --style {stripes}", "is a directory, not a file" },
        { "style is a directory", "--content {content} -style_image {dir}", "is a directory, not a file" },
        { "weights is a directory", "--content {content} --style {stripes} --weights {dir}", "is a directory, not a file" },
        { "no such gpu", "--content {content} --style {stripes} -gpu 3", "-gpu 3:" },
        { "bad backend", "--content {content} --style {stripes} -backend metal", "-backend must be nn, cudnn or clnn" },
        { "cudnn on the cpu", "--content {content} --style {stripes} -backend cudnn -gpu -1", "-backend cudnn runs on a CUDA GPU" },
        { "device and gpu", "--content {content} --style {stripes} --device cpu -gpu 0", "--device cannot be combined with -gpu" },
        { "bad history", "--content {content} --style {stripes} --lbfgs-history -3", "--lbfgs-history must be positive" },
        { "unknown gradcheck op", "gradcheck --op softmax", "no op matches --op 'softmax': the ops are conv2d" },
    };

    [Theory, MemberData(nameof(Cases))]
    public void OneClearLineAndNonZeroExit(string name, string arguments, string expected)
    {
        File.WriteAllBytes(Path.Combine(images.Directory, "garbage.png"), RandomNumberGenerator.GetBytes(3000));
        new IlgpuStyle.Imaging.RgbImage(20, 16).Save(Path.Combine(images.Directory, "black.png"));
        var inputs = Directory.GetFiles(images.Directory).ToDictionary(f => f, f => Convert.ToHexString(SHA256.HashData(File.ReadAllBytes(f))));
        string[] args = arguments
            .Replace("{content}", images.Content).Replace("{stripes}", images.Stripes).Replace("{dots}", images.Dots)
            .Replace("{dirname}", Path.GetFileName(images.Directory)).Replace("{dir}", images.Directory)
            .Split(' ', StringSplitOptions.RemoveEmptyEntries);

        var (code, stdout, stderr) = CliRunner.Run(args);

        Assert.True(code != 0, $"{name}: exit code 0; stdout: {stdout}");
        var lines = stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries).Where(l => !l.Contains("CPU accelerator, which is slow")).ToList();
        Assert.True(lines.Count == 1, $"{name}: expected one line on stderr, got {lines.Count}:\n{stderr}");
        Assert.StartsWith("ilgpustyle: ", lines[0]);
        Assert.Contains(expected, lines[0]);
        Assert.DoesNotContain("   at ", stderr + stdout);
        foreach (var (file, hash) in inputs)
            Assert.Equal(hash, Convert.ToHexString(SHA256.HashData(File.ReadAllBytes(file))));
    }
}

/// <summary>Runs the CLI in this process with its console captured.</summary>
public static class CliRunner
{
    static readonly object gate = new();

    public static (int Code, string Stdout, string Stderr) Run(params string[] args) => Run(() => IlgpuStyle.Cli.Cli.Run(args));

    public static (int Code, string Stdout, string Stderr) Run(Func<int> body)
    {
        lock (gate)
        {
            var (oldOut, oldErr) = (Console.Out, Console.Error);
            var (stdout, stderr) = (new StringWriter(), new StringWriter());
            Console.SetOut(stdout);
            Console.SetError(stderr);
            try
            {
                int code = body();
                return (code, stdout.ToString(), stderr.ToString());
            }
            finally
            {
                Console.SetOut(oldOut);
                Console.SetError(oldErr);
            }
        }
    }
}
