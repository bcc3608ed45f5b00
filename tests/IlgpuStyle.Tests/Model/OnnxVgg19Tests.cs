using IlgpuStyle.Model;

namespace IlgpuStyle.Tests.Model;

/// <summary>
/// An ONNX VGG19 written by the onnx library as the model zoo's (tools/weights-fixtures.py): the same numbers as the Keras
/// file h5py wrote, torchvision's preprocessing by default, told apart from the bundled ResNet18 by its graph; VGG19 with
/// batch normalization refused.
/// </summary>
public class OnnxVgg19Tests(ITestOutputHelper output)
{
    [Fact]
    public void ReadsTheNumbersOfTheKerasFile()
    {
        string path = WeightsFixtures.Path("vgg19_seeded.onnx");
        var keras = Vgg19WeightsFile.Load(WeightsFixtures.Path("vgg19_seeded.h5"));
        var onnx = Networks.LoadVgg19(path, "caffe");
        foreach (var spec in Vgg19Layers.Convolutions)
        {
            Assert.True(keras.Kernels[spec.Name].AsSpan().SequenceEqual(onnx.Kernels[spec.Name]), $"{spec.Name}: kernels differ from the Keras file's");
            Assert.True(keras.Biases[spec.Name].AsSpan().SequenceEqual(onnx.Biases[spec.Name]), $"{spec.Name}: biases differ");
        }
        // By default an ONNX file takes torchvision's preprocessing, folded into conv1_1 only.
        var torch = Networks.LoadVgg19(path);
        Assert.Equal(InputPreprocessing.Torch, torch.Preprocessing);
        Assert.False(keras.Kernels["conv1_1"].AsSpan().SequenceEqual(torch.Kernels["conv1_1"]));
        Assert.True(keras.Kernels["conv1_2"].AsSpan().SequenceEqual(torch.Kernels["conv1_2"]));
    }

    [Fact]
    public void AnOnnxVgg19IsVgg19AndTheBundledOnnxIsResNet18()
    {
        Assert.Equal(Vgg19Layers.Description, Networks.Choose(null, WeightsFixtures.Path("vgg19_seeded.onnx")));
        string bundled = ResNet18WeightsFile.Locate() ?? throw new Xunit.Sdk.XunitException(ResNet18WeightsFile.MissingMessage);
        Assert.Equal(ResNet18Layers.Description, Networks.Choose(null, bundled));
    }

    [Theory]
    [InlineData("truncated_vgg19_seeded.onnx", "truncated or corrupt")]
    [InlineData("truncated_vgg19_seeded.h5", "vgg19_seeded.h5")]
    public void TruncatedIsOneLine(string file, string expected) => output.WriteLine(WeightsFixtures.Refused(file, expected));

    [Fact]
    public void AnUnknownFormatNamesTheOnesRead() =>
        Assert.Contains("unknown format; VGG19 is read from Keras HDF5 (.h5), PyTorch state dicts (.pth)",
            WeightsFixtures.RefusedBytes(".bin", System.Text.Encoding.ASCII.GetBytes("not weights")));

    [Fact]
    public void BatchNormalizationIsAnotherNetwork() => output.WriteLine(WeightsFixtures.Refused("vgg19_bn.onnx", "batch normalization"));
}
