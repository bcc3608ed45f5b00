using IlgpuStyle.Model;

namespace IlgpuStyle.Tests.Model;

/// <summary>
/// Caffe models serialized by the protobuf library (tools/weights-fixtures.py, with caffe.proto's field numbers), in the
/// current `layer` form and the V1 `layers` form of the VGG release: the same numbers as the Keras file h5py wrote; another
/// network's layers and a truncated file get one clear line.
/// </summary>
public class CaffeWeightsTests(ITestOutputHelper output)
{
    [Theory]
    [InlineData("vgg19_seeded.caffemodel")]
    [InlineData("vgg19_seeded_v1.caffemodel")]
    public void BothFormsReadTheNumbersOfTheKerasFile(string file)
    {
        var keras = Vgg19WeightsFile.Load(WeightsFixtures.Path("vgg19_seeded.h5"));
        var caffe = Networks.LoadVgg19(WeightsFixtures.Path(file));
        Assert.Equal(InputPreprocessing.Caffe, caffe.Preprocessing);   // known by the format: no --preprocess needed
        foreach (var spec in Vgg19Layers.Convolutions)
        {
            Assert.True(keras.Kernels[spec.Name].AsSpan().SequenceEqual(caffe.Kernels[spec.Name]), $"{spec.Name}: kernels differ from the Keras file's");
            Assert.True(keras.Biases[spec.Name].AsSpan().SequenceEqual(caffe.Biases[spec.Name]), $"{spec.Name}: biases differ");
        }
    }

    [Theory]
    [InlineData("vgg16_layers.caffemodel", "no layer conv3_4 with weights and bias")]
    [InlineData("truncated_vgg19_seeded.caffemodel", "truncated or corrupt")]
    public void RefusedInOneLine(string file, string expected) => output.WriteLine(WeightsFixtures.Refused(file, expected));

    /// <summary>A file that is no protobuf at all, named .caffemodel.</summary>
    [Fact]
    public void GarbageNamedCaffemodelIsOneLine()
    {
        const int seed = 9;
        output.WriteLine($"seed {seed}");
        var bytes = new byte[5000];
        new Random(seed).NextBytes(bytes);
        output.WriteLine(WeightsFixtures.RefusedBytes(".caffemodel", bytes));
    }
}
