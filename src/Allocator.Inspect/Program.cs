using System.Globalization;

namespace Allocator.Inspect;

/// <summary>
/// <c>allocator-inspect</c>: looks into a live .NET process that uses the Allocator library, with ClrMD. The target
/// runs no code of ours; it is suspended while its memory is read.
/// </summary>
/// <remarks>
/// <code>
/// allocator-inspect heap &lt;pid&gt; [--json] [--png FILE]   size classes, totals, large blocks; a picture of the pages
/// allocator-inspect owners &lt;pid&gt; [--json]              pool owners not disposed, and who holds the largest
/// allocator-inspect maps &lt;pid&gt; [--json]                the memory map with RSS, the allocator's regions marked
/// </code>
/// Exit codes: 0 done; 2 bad command line; 3 no such process; 4 not .NET; 5 no Allocator library; 6 no permission;
/// 7 state unreadable.
/// </remarks>
public static class Program
{
    private const string Usage = """
        usage: allocator-inspect heap <pid> [--json] [--png FILE]
               allocator-inspect owners <pid> [--json]
               allocator-inspect maps <pid> [--json]
        """;

    /// <summary>The tool's entry point.</summary>
    /// <param name="args">The command line.</param>
    /// <returns>The exit code.</returns>
    public static int Main(string[] args) => Run(args, Console.Out, Console.Error);

    /// <summary>Runs one command, writing its report to <paramref name="output"/> and any failure, in one line, to <paramref name="error"/>.</summary>
    /// <param name="args">The command line.</param>
    /// <param name="output">Where the report goes.</param>
    /// <param name="error">Where a failure goes.</param>
    /// <returns>0, or the <see cref="InspectException"/> exit code of the failure.</returns>
    public static int Run(string[] args, TextWriter output, TextWriter error)
    {
        ArgumentNullException.ThrowIfNull(args);
        try
        {
            Command command = Command.Parse(args);
            switch (command.Name)
            {
                case "heap":
                    HeapCommand.Run(command, output);
                    break;
                case "owners":
                    OwnersCommand.Run(command, output);
                    break;
                default:
                    MapsCommand.Run(command, output);
                    break;
            }

            return 0;
        }
        catch (InspectException e)
        {
            error.WriteLine($"allocator-inspect: {e.Message}");
            if (e.ExitCode == InspectException.Usage)
            {
                error.WriteLine(Usage);
            }

            return e.ExitCode;
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            // Anything unforeseen still gets one line, not a stack trace.
            error.WriteLine($"allocator-inspect: {e.GetType().Name}: {TargetProcess.OneLine(e.Message)}");
            return 1;
        }
    }
}

/// <summary>A parsed command line.</summary>
/// <param name="Name">heap, owners or maps.</param>
/// <param name="ProcessId">The target.</param>
/// <param name="Json">Write JSON instead of text.</param>
/// <param name="PngPath">heap only: where to draw the pages.</param>
internal sealed record Command(string Name, int ProcessId, bool Json, string? PngPath)
{
    /// <summary>Parses the arguments; an <see cref="InspectException"/> (usage) when they make no sense.</summary>
    public static Command Parse(string[] args)
    {
        if (args.Length < 2 || args[0] is not ("heap" or "owners" or "maps"))
        {
            throw new InspectException(InspectException.Usage, args.Length == 0 ? "no command given" : $"expected a command and a process id, got '{string.Join(' ', args)}'");
        }

        if (!int.TryParse(args[1], NumberStyles.None, CultureInfo.InvariantCulture, out int pid) || pid <= 0)
        {
            throw new InspectException(InspectException.Usage, $"'{args[1]}' is not a process id");
        }

        bool json = false;
        string? png = null;
        for (int i = 2; i < args.Length; i++)
        {
            switch (args[i])
            {
                case "--json":
                    json = true;
                    break;
                case "--png" when args[0] == "heap" && i + 1 < args.Length:
                    png = args[++i];
                    break;
                default:
                    throw new InspectException(InspectException.Usage, $"unknown option '{args[i]}' for {args[0]}");
            }
        }

        return new Command(args[0], pid, json, png);
    }
}
