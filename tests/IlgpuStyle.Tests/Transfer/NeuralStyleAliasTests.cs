using System.Text.Json;
using IlgpuStyle.Cli;

namespace IlgpuStyle.Tests.Transfer;

/// <summary>
/// neural-style's single-dash options parse to exactly what their long forms give (compared as the whole
/// StyleTransferOptions, the device and the print interval, serialized), and the command line's own errors are one line.
/// </summary>
public class NeuralStyleAliasTests
{
    public static TheoryData<string, string> Pairs => new()
    {
        { "-content_image c.png -style_image a.png", "--content c.png --style a.png" },
        { "-content_image c.png -style_image a.png,b.png -style_blend_weights 3,1", "--content c.png --style a.png --style b.png --style-blend-weights 3,1" },
        { "-content_image c.png --style a.png,b.png", "--content c.png --style a.png --style b.png" },
        { "-content_image c.png -style_image a.png -image_size 300 -num_iterations 50 -output_image o.png", "--content c.png --style a.png --image-size 300 --iterations 50 --output o.png" },
        { "-content_image c.png -style_image a.png -content_weight 5 -style_weight 100 -tv_weight 0.01", "--content c.png --style a.png --content-weight 5 --style-weight 100 --tv-weight 0.01" },
        { "-content_image c.png -style_image a.png -init random", "--content c.png --style a.png --init random" },
        { "-content_image c.png -style_image a.png -init image", "--content c.png --style a.png --init content" },
        { "-content_image c.png -style_image a.png -init image -init_image i.png", "--content c.png --style a.png --init image --init-image i.png" },
        { "-content_image c.png -style_image a.png -optimizer adam -learning_rate 2", "--content c.png --style a.png --optimizer adam --learning-rate 2" },
        { "-content_image c.png -style_image a.png -lbfgs_num_correction 7", "--content c.png --style a.png --lbfgs-history 7" },
        { "-content_image c.png -style_image a.png -lbfgs_num_correction 0", "--content c.png --style a.png" },
        { "-content_image c.png -style_image a.png -print_iter 0 -save_iter 25", "--content c.png --style a.png --print-every 0 --save-every 25" },
        { "-content_image c.png -style_image a.png -style_scale 0.5", "--content c.png --style a.png --style-scale 0.5" },
        { "-content_image c.png -style_image a.png -original_colors 1", "--content c.png --style a.png --original-colors" },
        { "-content_image c.png -style_image a.png -original_colors 0", "--content c.png --style a.png" },
        { "-content_image c.png -style_image a.png -pooling max -seed 7", "--content c.png --style a.png --pooling max --seed 7" },
        { "-content_image c.png -style_image a.png --model vgg19 -content_layers relu4_2 -style_layers relu1_1,relu2_1", "--content c.png --style a.png --model vgg19 --content-layers conv4_2 --style-layers conv1_1,conv2_1" },
        { "-content_image c.png -style_image a.png -normalize_gradients", "--content c.png --style a.png --normalize-gradients" },
        { "-content_image c.png -style_image a.png -backend cudnn -gpu 1", "--content c.png --style a.png --device cuda:1" },
        { "-content_image c.png -style_image a.png -backend clnn -gpu 0", "--content c.png --style a.png --device opencl:0" },
        { "-content_image c.png -style_image a.png -backend nn", "--content c.png --style a.png" },
    };

    static string Parsed(string line)
    {
        var (options, device, printEvery) = IlgpuStyle.Cli.Cli.ParseTransfer(line.Split(' '));
        return JsonSerializer.Serialize(new { options, device, printEvery });
    }

    [Theory, MemberData(nameof(Pairs))]
    public void AliasParsesAsItsLongForm(string neuralStyle, string longForm)
    {
        string alias = Parsed(neuralStyle), expected = Parsed(longForm);
        Assert.True(alias == expected, $"{neuralStyle}\n  gives {alias}\n{longForm}\n  gives {expected}");
    }

    [Fact]
    public void OriginalColorsAndGpuKeepNeuralStylesMeanings()
    {
        Assert.True(Cli.Cli.ParseTransfer("-content_image c.png -original_colors 1".Split(' ')).Options.OriginalColors);
        Assert.False(Cli.Cli.ParseTransfer("-content_image c.png -original_colors 0".Split(' ')).Options.OriginalColors);
        Assert.Equal(0, Cli.Cli.ParseTransfer("-content_image c.png -print_iter 0".Split(' ')).PrintEvery);
        Assert.True(Cli.Cli.ParseTransfer("-content_image c.png".Split(' ')).Options.WriteLossCurve);
        Assert.False(Cli.Cli.ParseTransfer("-content_image c.png --no-plot".Split(' ')).Options.WriteLossCurve);
        var cpu = Cli.Cli.ParseTransfer("-content_image c.png -gpu -1".Split(' ')).Device;
        var catalog = IlgpuStyle.Devices.SharedDevices.Catalog;
        var expected = catalog.Devices.FirstOrDefault(d => d.Usable && d.Kind == IlgpuStyle.Devices.DeviceKind.OpenCL && !d.IsGpu)
                       ?? catalog.Devices.First(d => d.Kind == IlgpuStyle.Devices.DeviceKind.Cpu);
        Assert.Equal(expected.Id, cpu);
    }

    public static TheoryData<string, string> Errors => new()
    {
        { "--content c.png --iteratons 5", "unknown option '--iteratons' (did you mean --iterations?); see `ilgpustyle transfer --help`" },
        { "--content c.png -num_iteration 5", "unknown option '-num_iteration' (did you mean -num_iterations?)" },
        { "--content c.png --iterations abc", "--iterations takes a whole number, got 'abc'; see `ilgpustyle transfer --help`" },
        { "--content c.png --style-weight lots", "--style-weight takes a number, got 'lots'" },
        { "--content c.png --original-colors 2", "unexpected value '2'" },
        { "tranfser --content c.png", "unknown command 'tranfser' (did you mean transfer?)" },
        { "--style a.png", "--content is required" },
        { "transfer --content c.png --seed", "--seed needs a value" },
        { "bench --sise 64", "unknown option '--sise' (did you mean --size?); see `ilgpustyle bench --help`" },
        { "gradcheck --bogus", "unknown option '--bogus'; see `ilgpustyle gradcheck --help`" },
    };

    [Theory, MemberData(nameof(Errors))]
    public void ParseErrorIsOneLine(string arguments, string expected)
    {
        var (code, stdout, stderr) = CliRunner.Run(arguments.Split(' '));
        Assert.Equal(2, code);
        var lines = stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.True(lines.Length == 1, $"expected one line on stderr, got {lines.Length}:\n{stderr}");
        Assert.StartsWith("ilgpustyle: ", lines[0]);
        Assert.Contains(expected, lines[0]);
        Assert.DoesNotContain("Usage:", stdout + stderr);
    }
}
