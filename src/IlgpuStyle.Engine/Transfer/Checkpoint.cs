using System.Text;
using System.Text.Json;
using IlgpuStyle.Optimizers;
using IlgpuStyle.Tensors;

namespace IlgpuStyle.Transfer;

/// <summary>
/// A run's state after some iteration: the options it must be resumed with (everything that
/// changes the result, except the iteration count and the outputs), where it was (scale,
/// iteration), the loss history, the image and the optimizer's state. One binary file, written
/// atomically. Resuming from it gives the same image as the run that was never stopped, because
/// every kernel is deterministic.
/// </summary>
public static class Checkpoint
{
    const string Magic = "ILGPUSTYLE-CHECKPOINT-1";

    /// <param name="BestLoss">With --keep-best: the lowest loss so far at this scale (its image follows the optimizer state).</param>
    public sealed record Header(string Options, int Scale, int Iteration, int TotalIterations,
        List<double[]> Losses, double? BestLoss = null, int BestIteration = 0);

    /// <summary>The options that must be equal between a run and its resumption.</summary>
    public static string Fingerprint(StyleTransferOptions o) => JsonSerializer.Serialize(new
    {
        Content = Path.GetFullPath(o.ContentPath), Styles = o.AllStylePaths.Select(Path.GetFullPath).ToList(), o.StyleBlendWeights,
        o.ImageSize, o.StyleScale, o.ContentWeight, o.StyleWeight, o.TvWeight, o.ContentLayers, o.StyleLayers, o.StyleLayerWeights,
        Pooling = o.Pooling.ToString(), Optimizer = o.Optimizer.ToString(), o.EffectiveLearningRate, o.LbfgsHistory,
        Init = o.Init.ToString(), o.InitImagePath, o.Seed, o.Scales, o.WeightsPath, o.Preprocess, o.RandomWeightsSeed,
        Conv = o.ConvVariant?.ToString(), Gram = o.GramVariant?.ToString(),
        Color = o.ColorControl.ToString(), Histogram = o.HistogramMode.ToString(),
        ContentMasks = o.ContentMasks?.Select(Path.GetFullPath).ToList(), StyleMasks = o.StyleMasks?.Select(Path.GetFullPath).ToList(),
        o.StyleSplitLayer, o.NormalizeGradients, o.AutoStyleLayerWeights, o.KeepBest,
    });

    public static string PathFor(StyleTransferOptions o) => StyleTransfer.Sibling(o.OutputPath, "", ".ckpt");

    public static void Write(string path, Header header, Tensor image, IOptimizer optimizer, Tensor? best = null)
    {
        IO.AtomicFile.Write(path, stream =>
        {
            using var writer = new BinaryWriter(stream, Encoding.UTF8);
            writer.Write(Magic);
            writer.Write(JsonSerializer.Serialize(header));
            TensorIO.Write(writer, image);
            optimizer.Save(writer);
            if (best is not null && header.BestLoss is not null) TensorIO.Write(writer, best);
        });
    }

    /// <summary>Opens a checkpoint and checks it belongs to these options; the reader is positioned at the image.</summary>
    public static (Header Header, BinaryReader Reader) Open(string path, StyleTransferOptions o)
    {
        if (!File.Exists(path)) throw new ArgumentException($"checkpoint '{path}' does not exist");
        var reader = new BinaryReader(File.OpenRead(path), Encoding.UTF8);
        try
        {
            if (reader.ReadString() != Magic) throw new InvalidDataException("not an IlgpuStyle checkpoint");
            var header = JsonSerializer.Deserialize<Header>(reader.ReadString()) ?? throw new InvalidDataException("empty header");
            if (header.Options != Fingerprint(o))
                throw new ArgumentException($"checkpoint '{path}' was made with other options; resume with the same content, styles, size, weights, layers, optimizer and seed");
            return (header, reader);
        }
        catch (Exception e) when (e is EndOfStreamException or InvalidDataException or JsonException or IOException)
        {
            reader.Dispose();
            throw new ArgumentException($"checkpoint '{path}' cannot be read: {e.Message}");
        }
        catch { reader.Dispose(); throw; }
    }
}
