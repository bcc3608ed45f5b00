using IlgpuStyle.Transfer;
using Spectre.Console;

namespace IlgpuStyle.Cli;

/// <summary>Renders a run's progress: a live bar on a terminal, a line every N iterations otherwise; N = 0: no progress shown.</summary>
static class ProgressView
{
    public static TransferResult Run(Func<ITransferListener, TransferResult> run, StyleTransferOptions options, int printEvery)
    {
        if (printEvery == 0 || !AnsiConsole.Profile.Capabilities.Interactive || Console.IsOutputRedirected)
            return run(new LineListener(printEvery));
        TransferResult? result = null;
        AnsiConsole.Progress()
            .AutoClear(false)
            .Columns(new TaskDescriptionColumn { Alignment = Justify.Left }, new ProgressBarColumn(), new PercentageColumn(), new RemainingTimeColumn())
            .Start(ctx =>
            {
                var task = ctx.AddTask("starting", maxValue: Math.Max(1, options.Iterations * options.Scales));
                result = run(new BarListener(task));
            });
        return result!;
    }

    static string Describe(TransferProgress p) =>
        $"it {p.Iteration}/{p.Iterations}{(p.Scales > 1 ? $" scale {p.Scale}/{p.Scales}" : "")}  content {p.Content:G4}  style {p.Style:G4}  tv {p.Tv:G3}  total {p.Total:G5}  {p.IterationsPerSecond:F2} it/s";

    sealed class LineListener(int every) : ITransferListener
    {
        public void Info(string message) => Console.WriteLine(message);
        public void Warning(string message) => Console.Error.WriteLine($"ilgpustyle: warning: {message}");
        public void Progress(TransferProgress p)
        {
            if (every > 0 && (p.Iteration == 1 || p.Iteration % every == 0 || p.Iteration == p.Iterations)) Console.WriteLine(Describe(p));
        }
    }

    sealed class BarListener(ProgressTask task) : ITransferListener
    {
        public void Info(string message) => AnsiConsole.MarkupLine(Markup.Escape(message));
        public void Warning(string message) => AnsiConsole.MarkupLine($"[yellow]warning: {Markup.Escape(message)}[/]");
        public void Progress(TransferProgress p)
        {
            task.Description = Markup.Escape(Describe(p));
            task.Value = (p.Scale - 1) * p.Iterations + p.Iteration;
        }
    }
}
