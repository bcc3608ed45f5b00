using System.Globalization;
using IlgpuStyle.IO;
using ScottPlot;

namespace IlgpuStyle.Imaging;

/// <summary>One point of the loss curve: the run's iteration number (counted across scales) and its terms.</summary>
public readonly record struct LossPoint(int Iteration, double Content, double Style, double Tv, double Total);

/// <summary>Where a scale of a coarse-to-fine run starts: its first iteration and its size.</summary>
public readonly record struct ScaleStart(int Iteration, int Width, int Height);

/// <summary>
/// The loss per iteration, drawn with ScottPlot: log-scale y axis with decade ticks, iterations on x,
/// a legend (total, content, style, TV), a title with the image size and optimizer, and a dashed line
/// where each scale starts. Text uses the DejaVu Sans font shipped inside this assembly, so the picture
/// is the same on a machine with no fonts installed.
/// </summary>
public static class LossCurve
{
    public static void Save(string path, IReadOnlyList<LossPoint> losses, IReadOnlyList<ScaleStart> scales, string optimizer,
        int width = 800, int height = 450) =>
        AtomicFile.Write(path, stream => stream.Write(Render(losses, scales, optimizer, width, height)));

    /// <summary>The plot as PNG bytes.</summary>
    public static byte[] Render(IReadOnlyList<LossPoint> losses, IReadOnlyList<ScaleStart> scales, string optimizer, int width = 800, int height = 450)
    {
        EmbeddedFont.Install();
        var plot = new Plot();
        plot.Font.Set(EmbeddedFont.Family);

        var last = scales.Count > 0 ? scales[^1] : default;
        string size = scales.Count > 0 ? $"{last.Width}×{last.Height}" : "";
        string scaleText = scales.Count > 1 ? $", {scales.Count} scales" : "";
        plot.Title($"Loss per iteration: {size}, {optimizer}{scaleText}");
        plot.XLabel("iteration");
        plot.YLabel("loss (log scale)");

        var series = new (string Name, Func<LossPoint, double> Get, Color Color, float Width)[]
        {
            ("total", l => l.Total, Colors.Black, 2.5f),
            ("content", l => l.Content, new Color(40, 80, 220), 1.5f),
            ("style", l => l.Style, new Color(220, 40, 40), 1.5f),
            ("TV", l => l.Tv, new Color(40, 160, 60), 1.5f),
        };
        double lo = double.PositiveInfinity, hi = double.NegativeInfinity;
        foreach (var (name, get, color, lineWidth) in series)
        {
            // Log scale: plot log10 of each positive, finite value; a term that is 0 throughout (TV off) is left out.
            var points = losses.Where(l => get(l) > 0 && double.IsFinite(get(l))).ToList();
            if (points.Count == 0) continue;
            double[] xs = points.Select(l => (double)l.Iteration).ToArray();
            double[] ys = points.Select(l => Math.Log10(get(l))).ToArray();
            lo = Math.Min(lo, ys.Min());
            hi = Math.Max(hi, ys.Max());
            var line = plot.Add.ScatterLine(xs, ys, color);
            line.LineWidth = lineWidth;
            line.LegendText = name;
        }
        double top = double.IsFinite(hi) ? Math.Max(Math.Ceiling(hi), Math.Floor(lo) + 1) : 1;
        foreach (var (s, i) in scales.Select((s, i) => (s, i)).Where(_ => scales.Count > 1))
        {
            // A scale's first iteration: a dashed line at the boundary with the one before (none before the
            // first), its size written just inside the top of the data area.
            if (i > 0) plot.Add.VerticalLine(s.Iteration - 0.5, 1, Colors.Gray, LinePattern.Dashed).ExcludeFromLegend = true;
            var label = plot.Add.Text($" scale {i + 1}: {s.Width}×{s.Height}", s.Iteration - 0.5, top);
            label.LabelFontName = EmbeddedFont.Family;
            label.LabelFontSize = 12;
            label.LabelFontColor = Colors.DimGray;
            label.LabelAlignment = Alignment.UpperLeft;
            (label.LabelOffsetX, label.LabelOffsetY) = (4, 6);   // inside the data area, clear of its frame
        }

        // One format for every label of the axis: written out where all its decades allow it, else all as 1e{k}.
        bool written = !double.IsFinite(lo) || WritesOut(Math.Floor(lo), top);
        var ticks = new ScottPlot.TickGenerators.NumericAutomatic
        {
            IntegerTicksOnly = true,
            LabelFormatter = e => Decade(e, written),
            MinorTickGenerator = new ScottPlot.TickGenerators.LogMinorTickGenerator(),
        };
        plot.Axes.Left.TickGenerator = ticks;
        plot.Axes.Bottom.TickGenerator = new ScottPlot.TickGenerators.NumericAutomatic { IntegerTicksOnly = true };
        plot.Grid.MajorLineColor = Colors.Black.WithOpacity(0.12);
        plot.Grid.MinorLineColor = Colors.Black.WithOpacity(0.05);
        plot.Grid.MinorLineWidth = 1;
        if (double.IsFinite(lo))
        {
            // At least one decade shown, rounded out to whole decades so every label is a power of ten.
            plot.Axes.SetLimitsY(Math.Floor(lo), top);
        }
        if (losses.Count > 0) plot.Axes.SetLimitsX(losses[0].Iteration - 0.5, losses[^1].Iteration + 0.5);
        plot.ShowLegend(Edge.Right);
        return plot.GetImageBytes(width, height, ImageFormat.Png);
    }

    /// <summary>The decades a label is written out for (0.001 … 1,000,000).</summary>
    public static readonly (int Lowest, int Highest) WrittenOut = (-3, 6);

    /// <summary>Whether an axis from 10^lowest to 10^highest writes its labels out (all within <see cref="WrittenOut"/>).</summary>
    public static bool WritesOut(double lowest, double highest) => lowest >= WrittenOut.Lowest && highest <= WrittenOut.Highest;

    /// <summary>A decade tick's label: 10^k written out (`written`, for k in <see cref="WrittenOut"/>), else 1e{k}; an
    /// axis passes one choice for all its labels, so that they never mix "1e7" with "1,000,000".</summary>
    public static string Decade(double exponent, bool written = true)
    {
        int k = (int)Math.Round(exponent);
        return written && k >= WrittenOut.Lowest && k <= WrittenOut.Highest
            ? Math.Pow(10, k).ToString(k < 0 ? "0.###" : "#,0", CultureInfo.InvariantCulture)
            : $"1e{k}";
    }
}
