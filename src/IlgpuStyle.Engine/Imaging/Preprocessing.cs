using IlgpuStyle.Devices;
using IlgpuStyle.Tensors;

namespace IlgpuStyle.Imaging;

/// <summary>
/// The "caffe" preprocessing VGG19's Keras weights expect: channels in BGR order, 0–255 scale,
/// ImageNet means subtracted. The optimized image lives in this space; it is undone on the way out.
/// </summary>
public static class Preprocessing
{
    /// <summary>ImageNet means in B, G, R order.</summary>
    public static readonly float[] MeanBgr = { 103.939f, 116.779f, 123.68f };

    /// <summary>RGB (H, W, 3) in [0, 255] → (1, 3, H, W) BGR minus means.</summary>
    public static float[] ToNetwork(RgbImage image)
    {
        int plane = image.Width * image.Height;
        var data = new float[3 * plane];
        for (int p = 0; p < plane; p++)
            for (int c = 0; c < 3; c++)
                data[c * plane + p] = image.Data[p * 3 + (2 - c)] - MeanBgr[c];
        return data;
    }

    public static RgbImage FromNetwork(float[] data, int width, int height)
    {
        int plane = width * height;
        var image = new RgbImage(width, height);
        for (int p = 0; p < plane; p++)
            for (int c = 0; c < 3; c++)
                image.Data[p * 3 + (2 - c)] = Math.Clamp(data[c * plane + p] + MeanBgr[c], 0f, 255f);
        return image;
    }

    public static Tensor Upload(ComputeDevice device, RgbImage image, string name) =>
        Tensor.FromArray(device, new Shape4(1, 3, image.Height, image.Width), ToNetwork(image), name);

    public static RgbImage Download(Tensor t) => FromNetwork(t.ToArray(), t.Shape.W, t.Shape.H);
}
