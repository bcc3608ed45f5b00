using Spectre.Console;

namespace IlgpuStyle.Cli;

public static class Program
{
    public static int Main(string[] args)
    {
        PlainWhenNotATerminal();
        return Cli.Run(args);
    }

    /// <summary>
    /// Output that goes to a file or a pipe (or NO_COLOR is set) carries no ANSI escapes, and a redirected
    /// stdout is not wrapped at 80 columns: tables keep one line per row, whatever reads them.
    /// </summary>
    static void PlainWhenNotATerminal()
    {
        bool redirected = Console.IsOutputRedirected;
        bool noColor = !string.IsNullOrEmpty(Environment.GetEnvironmentVariable("NO_COLOR"));
        if (!redirected && !noColor) return;
        AnsiConsole.Console = AnsiConsole.Create(new AnsiConsoleSettings
        {
            Ansi = redirected ? AnsiSupport.No : AnsiSupport.Detect,
            ColorSystem = noColor || redirected ? ColorSystemSupport.NoColors : ColorSystemSupport.Detect,
            Interactive = redirected ? InteractionSupport.No : InteractionSupport.Detect,
        });
        if (redirected) AnsiConsole.Profile.Width = 400;
    }
}
