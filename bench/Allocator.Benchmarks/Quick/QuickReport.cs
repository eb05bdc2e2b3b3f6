using System.Globalization;
using System.Runtime.InteropServices;
using System.Text;
using Allocator.Benchmarks.Competitors;
using Allocator.Benchmarks.Workloads;

namespace Allocator.Benchmarks.Quick;

/// <summary>The results of one <c>quick</c> run, arranged as workloads by allocators.</summary>
public sealed class QuickReport
{
    private readonly Dictionary<(string Workload, string Allocator), WorkloadResult> _results;

    public QuickReport(
        QuickOptions options, IReadOnlyList<Competitor> competitors, IEnumerable<WorkloadResult> results, TimeSpan elapsed,
        string loadBefore)
    {
        LoadBefore = loadBefore;
        Options = options;
        Competitors = competitors;
        Elapsed = elapsed;
        _results = results.ToDictionary(r => (r.Workload, r.Allocator));
    }

    public QuickOptions Options { get; }

    public IReadOnlyList<Competitor> Competitors { get; }

    public TimeSpan Elapsed { get; }

    /// <summary>The 1-, 5- and 15-minute load averages when the run started: other work on the machine.</summary>
    public string LoadBefore { get; }

    public IReadOnlyList<Workload> Workloads => Options.Workloads;

    /// <summary>The result of a workload on an allocator, when it ran and passed its check.</summary>
    public WorkloadResult? Passed(Workload workload, Competitor competitor) =>
        _results.TryGetValue((workload.Name, competitor.Name), out WorkloadResult? r) && r.Ok ? r : null;

    /// <summary>Time relative to ours (lower is faster), when both passed.</summary>
    public double? TimeRatio(Workload workload, Competitor competitor) =>
        Passed(workload, competitor) is { } result && _results.TryGetValue((workload.Name, OursHeap.Name), out WorkloadResult? ours) && ours.Ok
            ? result.Seconds / ours.Seconds
            : null;

    /// <summary>Peak RSS in MiB, when it passed.</summary>
    public double? PeakMiB(Workload workload, Competitor competitor) =>
        Passed(workload, competitor) is { } result ? ResultTables.MiB(result.PeakRss) : null;

    /// <summary>The time and peak-RSS tables, as aligned text.</summary>
    public string ConsoleTables() =>
        "Time, ratio to ours (lower is faster)\n" + ResultTables.Text(TimeTable()) +
        "\nPeak RSS of the process during the run, MiB\n" + ResultTables.Text(PeakTable());

    /// <summary>The full report as Markdown.</summary>
    public string Markdown()
    {
        var md = new StringBuilder();
        md.AppendLine("# Quick comparison").AppendLine();
        md.AppendLine($"{DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC on {MachineDescription()}.  ");
        md.AppendLine($"Scale {Options.Scale.ToString(CultureInfo.InvariantCulture)}, {Options.Threads} threads, " +
            $"every (workload, allocator) in its own process, {Options.Rounds} round{(Options.Rounds == 1 ? "" : "s")} " +
            "(the fastest time of each counts, with the highest peak RSS), " +
            $"{Elapsed.TotalSeconds:0} s in all; " +
            $"load average before the run {LoadBefore}.");
        md.AppendLine();

        Section(md, "Time, ratio to ours (lower is faster)", TimeTable());
        Section(md, "Peak RSS of the process during the run, MiB", PeakTable());
        Section(md, "RSS when everything is freed, MiB (no collect; the GC's garbage is not collected)",
            Table((_, _, r) => ResultTables.MiB(r.EndRss).ToString("0.0", CultureInfo.InvariantCulture), null));
        Section(md, "Throughput, million allocations per second",
            Table((_, _, r) => (r.Operations / r.Seconds / 1e6).ToString("0.00", CultureInfo.InvariantCulture), null));
        Section(md, "GC collections / total GC pause in ms, over all timed repetitions",
            Table((_, _, r) => $"{r.GcCount} / {r.GcPauseMilliseconds:0}", null));

        var failures = _results.Values.Where(r => !r.Ok).ToList();
        if (failures.Count > 0)
        {
            md.AppendLine("## Failures").AppendLine();
            foreach (WorkloadResult failure in failures)
            {
                md.AppendLine($"- {failure.Workload} on {failure.Allocator}: {failure.Error}");
            }

            md.AppendLine();
        }

        md.AppendLine("## How it is measured").AppendLine();
        md.AppendLine("- Each child first calls the workload 3 x 8 times at 0.2% scale (pausing 25 ms after each 8), so that the JIT compiles its loops at tier 1 " +
            "(children start with `DOTNET_TC_CallCountThreshold=8`), then runs it once at 5% scale as a warm-up, then resets the peak RSS " +
            "(`/proc/self/clear_refs` = 5), then repeats the timed run until the runs add up to 0.3 s (at least 2, at most 6; one below scale 0.25) and keeps the fastest. " +
            "Peak RSS is `VmHWM` of that child over the timed runs, so it includes the .NET runtime (about 30 MiB, " +
            "the same for every allocator); RSS when freed is `VmRSS` right after the last run.");
        md.AppendLine($"- Every (workload, allocator) cell ran in {Options.Rounds} separate child process" +
            $"{(Options.Rounds == 1 ? "" : "es, one per round")}; within a workload the allocators take turns at " +
            "running first, and every second round runs in reverse order. The fastest round's time counts, with the " +
            "highest peak RSS and RSS when freed of all rounds.");
        if (_results.Values.Any(r => r.Ok && !r.PeakIsReset))
        {
            md.AppendLine("- **This kernel refused the peak reset**, so peak RSS here also covers start-up and the warm-up run.");
        }

        md.AppendLine("- Every block is written with a pattern when allocated and checked before it is freed.");
        md.AppendLine("- Geometric means are over the workloads where both the allocator and ours passed.");
        md.AppendLine().AppendLine("## Workloads").AppendLine();
        foreach (Workload workload in Workloads)
        {
            md.AppendLine($"- **{workload.Name}**: {workload.Scaling}");
        }

        return md.ToString();
    }

    private static void Section(StringBuilder md, string title, ResultTables.Grid table) =>
        md.AppendLine($"## {title}").AppendLine().Append(ResultTables.Markdown(table)).AppendLine();

    private ResultTables.Grid TimeTable() =>
        Table((w, c, _) => TimeRatio(w, c) is { } ratio ? $"{ratio:0.00}" : "-",
            c => GeoMean(Workloads.Select(w => TimeRatio(w, c))));

    private ResultTables.Grid PeakTable() =>
        Table((_, _, r) => ResultTables.MiB(r.PeakRss).ToString("0.0", CultureInfo.InvariantCulture),
            c => GeoMean(Workloads.Select(w => PeakMiB(w, c))));

    /// <summary>Workloads by allocators; a cell is <paramref name="cell"/> of a passed result, "FAIL" or "-".</summary>
    private ResultTables.Grid Table(Func<Workload, Competitor, WorkloadResult, string> cell, Func<Competitor, double?>? geoMean)
    {
        var rows = new List<string[]>();
        foreach (Workload workload in Workloads)
        {
            rows.Add([workload.Name, .. Competitors.Select(c =>
                _results.TryGetValue((workload.Name, c.Name), out WorkloadResult? r) ? (r.Ok ? cell(workload, c, r) : "FAIL") : "-")]);
        }

        if (geoMean is not null)
        {
            rows.Add(["geometric mean", .. Competitors.Select(c => geoMean(c) is { } g ? g.ToString("0.00", CultureInfo.InvariantCulture) : "-")]);
        }

        return new ResultTables.Grid(["workload", .. Competitors.Select(c => c.Name)], rows);
    }

    /// <summary>The geometric mean of the values that exist, or null when none do.</summary>
    public static double? GeoMean(IEnumerable<double?> values)
    {
        double[] present = values.Where(v => v is > 0).Select(v => v!.Value).ToArray();
        return present.Length == 0 ? null : Math.Exp(present.Average(Math.Log));
    }

    /// <summary>CPU model, cores, memory, OS and .NET version.</summary>
    public static string MachineDescription()
    {
        string cpu = ReadField("/proc/cpuinfo", "model name", ':') ?? RuntimeInformation.ProcessArchitecture.ToString();
        string os = ReadField("/etc/os-release", "PRETTY_NAME", '=')?.Trim('"') ?? RuntimeInformation.OSDescription;
        string? memKb = ReadField("/proc/meminfo", "MemTotal", ':')?.Split(' ')[0];
        string memory = memKb is null ? "" : $", {long.Parse(memKb, CultureInfo.InvariantCulture) / (1024.0 * 1024):0} GiB";
        return $"{cpu}, {Environment.ProcessorCount} cores{memory}, {os}, {RuntimeInformation.FrameworkDescription}";
    }

    /// <summary>The 1-, 5- and 15-minute load averages, or "unknown".</summary>
    public static string LoadAverage()
    {
        try
        {
            return string.Join(' ', File.ReadAllText("/proc/loadavg").Split(' ').Take(3));
        }
        catch (IOException)
        {
            return "unknown";
        }
    }

    private static string? ReadField(string path, string key, char separator)
    {
        try
        {
            return File.ReadLines(path)
                .Where(l => l.StartsWith(key, StringComparison.Ordinal))
                .Select(l => l[(l.IndexOf(separator) + 1)..].Trim())
                .FirstOrDefault();
        }
        catch (IOException)
        {
            return null;
        }
    }
}

/// <summary>Renders a grid of strings as aligned text or as a Markdown table.</summary>
public static class ResultTables
{
    /// <summary>A header row and data rows; the first column is a label.</summary>
    public sealed record Grid(string[] Header, List<string[]> Rows);

    /// <summary>Bytes to MiB.</summary>
    public static double MiB(long bytes) => bytes / (1024.0 * 1024.0);

    /// <summary>
    /// Prints <paramref name="grid"/> and the <paramref name="target"/> line, and writes them as Markdown to
    /// <paramref name="fileName"/> in <paramref name="directory"/> under a title, the date and machine, and an intro.
    /// </summary>
    public static void Report(string directory, string fileName, string title, string intro, Grid grid, string target)
    {
        Console.WriteLine();
        Console.Write(Text(grid));
        Console.WriteLine(target);
        Directory.CreateDirectory(directory);
        string path = Path.Combine(directory, fileName);
        File.WriteAllText(path,
            $"# {title}\n\n{DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC on {QuickReport.MachineDescription()}.\n\n" +
            intro + "\n\n" + Markdown(grid) + "\n" + target + "\n");
        Console.WriteLine($"wrote {path}");
    }

    /// <summary>Columns padded to their widest cell; labels left-aligned, numbers right-aligned.</summary>
    public static string Text(Grid grid)
    {
        int[] widths = grid.Header.Select((h, i) => grid.Rows.Select(r => r[i].Length).Append(h.Length).Max()).ToArray();
        var text = new StringBuilder();
        foreach (string[] row in grid.Rows.Prepend(grid.Header))
        {
            text.AppendLine(string.Join("  ", row.Select((cell, i) => i == 0 ? cell.PadRight(widths[i]) : cell.PadLeft(widths[i]))));
        }

        return text.ToString();
    }

    /// <summary>A Markdown table with numeric columns right-aligned.</summary>
    public static string Markdown(Grid grid)
    {
        var text = new StringBuilder();
        text.AppendLine("| " + string.Join(" | ", grid.Header) + " |");
        text.AppendLine("| " + string.Join(" | ", grid.Header.Select((_, i) => i == 0 ? "---" : "---:")) + " |");
        foreach (string[] row in grid.Rows)
        {
            text.AppendLine("| " + string.Join(" | ", row) + " |");
        }

        return text.ToString();
    }
}
