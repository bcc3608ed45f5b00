using IlgpuStyle.Autodiff;
using IlgpuStyle.Tensors;
using SkiaSharp;

namespace IlgpuStyle.Imaging;

/// <summary>
/// The tape drawn as a picture (PNG and SVG, no Graphviz needed). The network's ops stand in one column in the order
/// they ran, the image x on top; each loss layer's branch (mask, normalize, Gram, loss) stands in the row of the layer it
/// reads, and every loss feeds L at the bottom right. An arrow that skips rows (a residual shortcut) runs on the left.
/// A dot with a number marks a tensor read by that many ops: backward, their gradients add up there (+=).
/// Backward runs the same ops from the bottom up.
/// </summary>
public static class TapePicture
{
    const int RowHeight = 24, BoxHeight = 18, MainWidth = 360, SideWidth = 150, SideGap = 22, Lane = 9, Top = 56;

    static readonly HashSet<string> Branch = new() { "gram", "mask", "normalize", "content_loss", "style_loss", "tv_loss" };

    public static (byte[] Png, byte[] Svg) Render(Tape tape, Tensor image)
    {
        var layout = new Layout(tape, image);
        using var bitmap = new SKBitmap(layout.Width, layout.Height, SKColorType.Rgba8888, SKAlphaType.Opaque);
        using (var canvas = new SKCanvas(bitmap)) layout.Draw(canvas);
        using var png = SKImage.FromBitmap(bitmap).Encode(SKEncodedImageFormat.Png, 100);
        using var svg = new MemoryStream();
        using (var canvas = SKSvgCanvas.Create(new SKRect(0, 0, layout.Width, layout.Height), svg)) layout.Draw(canvas);
        return (png.ToArray(), svg.ToArray());
    }

    sealed class Layout
    {
        readonly Tape tape;
        readonly Tensor image;
        readonly Dictionary<Tensor, int> producer = new(ReferenceEqualityComparer.Instance);   // tensor → node index (−1: the image)
        readonly int[] row, column;                                                            // column −1: the network's column
        readonly Dictionary<Tensor, int> readers = new(ReferenceEqualityComparer.Instance);
        readonly List<(int From, int To, int Lane)> skips = new();
        readonly int lanes, sideColumns, rows;
        public readonly int Width, Height;

        public Layout(Tape tape, Tensor image)
        {
            this.tape = tape;
            this.image = image;
            var nodes = tape.Nodes;
            producer[image] = -1;
            row = new int[nodes.Count];
            column = new int[nodes.Count];
            var used = new Dictionary<int, int>();   // row → side boxes placed in it
            int next = 1;
            for (int i = 0; i < nodes.Count; i++)
            {
                var n = nodes[i];
                if (!Branch.Contains(n.Op)) { row[i] = next++; column[i] = -1; }
                else
                {
                    // A branch op sits in the row of what it reads (the image for TV), after the branch ops already there.
                    row[i] = producer.TryGetValue(n.Inputs[0], out int p) ? (p < 0 ? 0 : row[p]) : 0;
                    column[i] = used[row[i]] = used.GetValueOrDefault(row[i]);
                    used[row[i]]++;
                }
                foreach (var t in n.Inputs.Where(t => producer.ContainsKey(t))) readers[t] = readers.GetValueOrDefault(t) + 1;
                if (n.Output is { } o) producer[o] = i;
            }
            rows = next;
            sideColumns = used.Values.DefaultIfEmpty(0).Max();
            // Main-column edges that skip rows, each on its own lane where they overlap.
            var laneEnds = new List<int>();
            for (int i = 0; i < nodes.Count; i++)
            {
                if (column[i] >= 0) continue;
                foreach (var t in nodes[i].Inputs)
                {
                    if (!producer.TryGetValue(t, out int p)) continue;
                    int from = p < 0 ? 0 : row[p];
                    if (from == row[i] - 1) continue;
                    int lane = laneEnds.FindIndex(end => end <= from);
                    if (lane < 0) { lane = laneEnds.Count; laneEnds.Add(0); }
                    laneEnds[lane] = row[i];
                    skips.Add((from, row[i], lane));
                }
            }
            lanes = laneEnds.Count;
            Width = MainLeft + MainWidth + SideGap + sideColumns * (SideWidth + SideGap) + 90;
            Height = Top + (rows + 1) * RowHeight + 70;
        }

        int MainLeft => 40 + lanes * Lane + 12;
        float Y(int r) => Top + r * RowHeight;
        float SideX(int k) => MainLeft + MainWidth + SideGap + k * (SideWidth + SideGap);

        public void Draw(SKCanvas canvas)
        {
            canvas.Clear(SKColors.White);
            var nodes = tape.Nodes;
            LearnerPictures.Text(canvas, $"The tape of one evaluation: {nodes.Count} ops, forward from the top (numbers: the order they ran); " +
                                         "backward calls their closures from the bottom up.", 12, 18);
            LearnerPictures.Text(canvas, "Arrows carry tensors forward and gradients back; a dot N: the tensor feeds N ops, and backward adds their " +
                                         "N gradients into it (+=).", 12, 36, size: 12, color: SKColors.DimGray);
            using var line = new SKPaint { Color = new SKColor(90, 90, 90), StrokeWidth = 1.2f, IsAntialias = true, Style = SKPaintStyle.Stroke };
            using var lossLine = new SKPaint { Color = new SKColor(200, 70, 70, 140), StrokeWidth = 1f, IsAntialias = true, Style = SKPaintStyle.Stroke };

            // The image x on top.
            Box(canvas, MainLeft, Y(0), MainWidth, $"x: the image (what L is minimized over)", image.Shape.ToString(), new SKColor(225, 225, 225));
            float lx = Width - 60, ly = Y(rows) + RowHeight;
            for (int i = 0; i < nodes.Count; i++)
            {
                var n = nodes[i];
                float y = Y(row[i]);
                SKColor fill = n.Op switch
                {
                    "conv2d+relu" => new SKColor(190, 214, 255),
                    "conv2d" => new SKColor(214, 232, 255),
                    "maxpool2d" or "avgpool2d" => new SKColor(214, 240, 214),
                    "add+relu" => new SKColor(255, 228, 196),
                    "gram" or "mask" or "normalize" => new SKColor(230, 215, 250),
                    _ => new SKColor(255, 210, 210),
                };
                string text = $"{i + 1}. {n.Op} {n.Label}";
                if (column[i] < 0)
                {
                    Box(canvas, MainLeft, y, MainWidth, text, n.Output?.Shape.ToString() ?? "", fill);
                    if (n.Inputs.Any(t => producer.TryGetValue(t, out int p) && (p < 0 ? 0 : row[p]) == row[i] - 1))
                        Arrow(canvas, line, MainLeft + MainWidth / 2f, y - RowHeight + BoxHeight / 2f, MainLeft + MainWidth / 2f, y - BoxHeight / 2f);
                }
                else
                {
                    float x = SideX(column[i]);
                    Box(canvas, x, y, SideWidth, text, "", fill);
                    // From what it reads: the network's box (over any branch boxes before it) or the branch box before it.
                    int p = producer.TryGetValue(n.Inputs[0], out int q) ? q : -1;
                    float fromX = p >= 0 && column[p] >= 0 ? SideX(column[p]) + SideWidth : MainLeft + MainWidth;
                    bool over = !(p >= 0 && column[p] == column[i] - 1) && column[i] > 0;
                    if (over)
                    {
                        using var path = new SKPath();
                        path.MoveTo(fromX, y - 4);
                        path.LineTo(fromX + 8, y - BoxHeight / 2f - 3);
                        path.LineTo(x - 8, y - BoxHeight / 2f - 3);
                        path.LineTo(x, y - 4);
                        canvas.DrawPath(path, line);
                    }
                    else Arrow(canvas, line, fromX, y, x, y);
                    if (n.Op.EndsWith("_loss")) canvas.DrawLine(x + SideWidth, y, lx, ly - 10, lossLine);
                }
            }
            // Skipping arrows on the left, one lane each.
            foreach (var (from, to, lane) in skips)
            {
                float x = MainLeft - 12 - lane * Lane;
                using var path = new SKPath();
                path.MoveTo(MainLeft, Y(from));
                path.LineTo(x, Y(from));
                path.LineTo(x, Y(to));
                path.LineTo(MainLeft - 2, Y(to));
                canvas.DrawPath(path, line);
                Head(canvas, line, MainLeft - 8, Y(to), MainLeft - 1, Y(to));
            }
            // Fan-out: a dot with the number of readers at the tensor's producer.
            foreach (var (t, count) in readers.Where(kv => kv.Value > 1))
            {
                int p = producer[t];
                float x = p >= 0 && column[p] >= 0 ? SideX(column[p]) + SideWidth : MainLeft + MainWidth, y = p < 0 ? Y(0) : Y(row[p]);
                using var dot = new SKPaint { Color = new SKColor(230, 120, 0), IsAntialias = true };
                canvas.DrawCircle(x + 9, y + BoxHeight / 2f + 1, 7, dot);
                LearnerPictures.Text(canvas, count.ToString(), x + 9, y + BoxHeight / 2f + 5, SKTextAlign.Center, 10, SKColors.White);
            }
            // L, and backward's direction.
            using (var fill = new SKPaint { Color = new SKColor(200, 60, 60), IsAntialias = true })
                canvas.DrawCircle(lx, ly, 14, fill);
            LearnerPictures.Text(canvas, "L", lx, ly + 5, SKTextAlign.Center, 14, SKColors.White);
            using var back = new SKPaint { Color = new SKColor(200, 60, 60), StrokeWidth = 2, IsAntialias = true, Style = SKPaintStyle.Stroke };
            Arrow(canvas, back, 18, Y(rows), 18, Y(0));
            canvas.Save();
            canvas.RotateDegrees(-90, 30, Y(rows) - 10);
            LearnerPictures.Text(canvas, "backward: bottom to top", 30, Y(rows) - 10 + 4, size: 11, color: new SKColor(200, 60, 60));
            canvas.Restore();
        }

        static void Box(SKCanvas canvas, float x, float yCentre, float width, string left, string right, SKColor fill)
        {
            var rect = new SKRect(x, yCentre - BoxHeight / 2f, x + width, yCentre + BoxHeight / 2f);
            using var paint = new SKPaint { Color = fill, IsAntialias = true };
            canvas.DrawRoundRect(rect, 4, 4, paint);
            using var edge = new SKPaint { Color = new SKColor(120, 120, 120), IsAntialias = true, Style = SKPaintStyle.Stroke, StrokeWidth = 0.8f };
            canvas.DrawRoundRect(rect, 4, 4, edge);
            LearnerPictures.Text(canvas, left, x + 5, yCentre + 4, size: 11);
            if (right.Length > 0) LearnerPictures.Text(canvas, right, x + width - 5, yCentre + 4, SKTextAlign.Right, 10, SKColors.DimGray);
        }

        static void Arrow(SKCanvas canvas, SKPaint paint, float x0, float y0, float x1, float y1)
        {
            canvas.DrawLine(x0, y0, x1, y1, paint);
            Head(canvas, paint, x0, y0, x1, y1);
        }

        static void Head(SKCanvas canvas, SKPaint paint, float x0, float y0, float x1, float y1)
        {
            float dx = x1 - x0, dy = y1 - y0, length = MathF.Max(1e-3f, MathF.Sqrt(dx * dx + dy * dy));
            (dx, dy) = (dx / length, dy / length);
            const float size = 5;
            canvas.DrawLine(x1, y1, x1 - size * dx + size * 0.5f * dy, y1 - size * dy - size * 0.5f * dx, paint);
            canvas.DrawLine(x1, y1, x1 - size * dx - size * 0.5f * dy, y1 - size * dy + size * 0.5f * dx, paint);
        }
    }
}
