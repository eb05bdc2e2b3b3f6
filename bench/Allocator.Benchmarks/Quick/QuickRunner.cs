using System.Diagnostics;
using System.Globalization;
using Allocator.Benchmarks.Competitors;
using Allocator.Benchmarks.Workloads;

namespace Allocator.Benchmarks.Quick;

/// <summary>
/// <c>quick</c>: every workload on every installed allocator, each in its own child process; prints a table of
/// time (as a ratio to ours) and peak RSS, and writes it as Markdown and a PNG chart. Exits with 1 only when our
/// allocator fails a workload's check (or crashes); a competitor's failure is reported and the run goes on.
/// </summary>
public static class QuickRunner
{
    /// <summary>Runs <c>quick</c> with its options (see <see cref="QuickOptions.Usage"/>).</summary>
    public static int Run(string[] args)
    {
        QuickOptions options;
        try
        {
            options = QuickOptions.Parse(args);
        }
        catch (ArgumentException e)
        {
            Console.Error.WriteLine(e.Message);
            Console.Error.WriteLine(QuickOptions.Usage);
            return 2;
        }

        return Run(options, Console.Out);
    }

    /// <summary>Runs <c>quick</c>, writing progress and the table to <paramref name="log"/>.</summary>
    public static int Run(QuickOptions options, TextWriter log)
    {
        var clock = Stopwatch.StartNew();
        string loadBefore = QuickReport.LoadAverage();
        List<Competitor> competitors = Available(options.Competitors, log);
        var run = new WorkloadRun(options.Scale, options.Threads);
        var plan = (from workload in options.Workloads from competitor in competitors select (workload, competitor)).ToList();
        log.WriteLine($"quick: {options.Workloads.Count} workloads x {competitors.Count} allocators, scale {options.Scale}, " +
            $"{options.Threads} threads, {plan.Count} child processes");
        var results = new List<WorkloadResult>();
        for (int i = 0; i < plan.Count; i++)
        {
            (Workload workload, Competitor competitor) = plan[i];
            log.Write($"[{i + 1,3}/{plan.Count}] {workload.Name,-14} {competitor.Name,-10} ");
            log.Flush();
            WorkloadResult result = ChildProcess.RunWorkload(workload, competitor, run, options.Timeout);
            results.Add(result);
            log.WriteLine(result.Ok
                ? $"{result.Seconds,7:0.000} s  {result.Operations / result.Seconds,12:N0} allocs/s  " +
                  $"peak {ResultTables.MiB(result.PeakRss),7:0.0} MiB"
                : $"FAILED: {result.Error}");
        }

        var report = new QuickReport(options, competitors, results, clock.Elapsed, loadBefore);
        log.WriteLine();
        log.Write(report.ConsoleTables());
        Directory.CreateDirectory(options.OutputDirectory);
        string markdown = Path.Combine(options.OutputDirectory, "quick.md");
        File.WriteAllText(markdown, report.Markdown());
        log.WriteLine($"wrote {markdown}");
        string chart = Path.Combine(options.OutputDirectory, "quick.png");
        try
        {
            ResultChart.Write(report, chart);
            log.WriteLine($"wrote {chart}");
        }
        catch (Exception e) when (e is DllNotFoundException or TypeInitializationException or IOException)
        {
            log.WriteLine($"chart not written ({e.GetType().Name}: {e.Message})");
        }

        log.WriteLine($"quick finished in {clock.Elapsed.TotalSeconds:0} s");
        List<WorkloadResult> ourFailures = results.Where(r => !r.Ok && r.Allocator == OursHeap.Name).ToList();
        foreach (WorkloadResult failure in ourFailures)
        {
            log.WriteLine($"OUR ALLOCATOR FAILED {failure.Workload}: {failure.Error}");
        }

        return ourFailures.Count == 0 ? 0 : 1;
    }

    /// <summary>The competitors that can run here; prints one install line for each that cannot.</summary>
    public static List<Competitor> Available(IEnumerable<Competitor> wanted, TextWriter log)
    {
        var available = new List<Competitor>();
        foreach (Competitor competitor in wanted)
        {
            if (competitor.IsAvailable(out string? missingLine))
            {
                available.Add(competitor);
            }
            else
            {
                log.WriteLine(missingLine);
            }
        }

        return available;
    }
}

/// <summary>Options of <c>quick</c>.</summary>
public sealed record QuickOptions(
    double Scale, int Threads, IReadOnlyList<Workload> Workloads, IReadOnlyList<Competitor> Competitors,
    string OutputDirectory, TimeSpan Timeout)
{
    /// <summary>The command-line help.</summary>
    public static string Usage =>
        "usage: quick [--scale tiny|small|full|<factor>] [--threads N] [--workloads a,b] [--allocators a,b] [--out DIR]\n" +
        $"  workloads:  {string.Join(", ", Workload.All)}\n" +
        $"  allocators: {string.Join(", ", Competitor.All)}";

    /// <summary>Parses the arguments after <c>quick</c>.</summary>
    public static QuickOptions Parse(IReadOnlyList<string> args)
    {
        var options = new QuickOptions(
            1.0, Environment.ProcessorCount, Workload.All, Competitor.All, DefaultOutputDirectory(), TimeSpan.FromMinutes(2));
        for (int i = 0; i < args.Count; i++)
        {
            string value = i + 1 < args.Count ? args[i + 1] : throw new ArgumentException($"{args[i]} needs a value");
            options = args[i] switch
            {
                "--scale" => options with { Scale = WorkloadRun.ParseScale(value) },
                "--threads" => options with { Threads = int.Parse(value, CultureInfo.InvariantCulture) },
                "--workloads" => options with { Workloads = Pick(value, Workload.Find) },
                "--allocators" => options with { Competitors = Pick(value, Competitor.Find) },
                "--out" => options with { OutputDirectory = Path.GetFullPath(value) },
                _ => throw new ArgumentException("unknown option " + args[i]),
            };
            i++;
        }

        return options;
    }

    private static List<T> Pick<T>(string names, Func<string, T?> find) where T : class =>
        names.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Select(name => find(name) ?? throw new ArgumentException("unknown name " + name))
            .ToList();

    /// <summary>bench/results under the repository root (found from the current directory), else ./results.</summary>
    private static string DefaultOutputDirectory()
    {
        for (DirectoryInfo? dir = new(Environment.CurrentDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Allocator.sln")))
            {
                return Path.Combine(dir.FullName, "bench", "results");
            }
        }

        return Path.GetFullPath("results");
    }
}
