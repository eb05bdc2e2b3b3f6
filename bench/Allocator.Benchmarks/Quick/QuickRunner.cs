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
        List<(Workload Workload, Competitor Competitor)> cells =
            (from workload in options.Workloads from competitor in competitors select (workload, competitor)).ToList();
        int rounds = options.Rounds;
        List<(int Cell, int Round)> plan = Plan(options.Workloads.Count, competitors.Count, rounds);
        log.WriteLine($"quick: {options.Workloads.Count} workloads x {competitors.Count} allocators, scale {options.Scale}, " +
            $"{options.Threads} threads, {rounds} round{(rounds == 1 ? "" : "s")}, {plan.Count} child processes");
        var measured = new List<WorkloadResult>[cells.Count];
        for (int i = 0; i < plan.Count; i++)
        {
            (int cell, int round) = plan[i];
            (Workload workload, Competitor competitor) = cells[cell];
            log.Write($"[{i + 1,3}/{plan.Count}] {(rounds > 1 ? $"round {round + 1} " : "")}{workload.Name,-14} {competitor.Name,-10} ");
            log.Flush();
            WorkloadResult result = ChildProcess.RunWorkload(workload, competitor, run, options.Timeout);
            (measured[cell] ??= []).Add(result);
            log.WriteLine(result.Ok
                ? $"{result.Seconds,7:0.000} s  {result.Operations / result.Seconds,12:N0} allocs/s  " +
                  $"peak {ResultTables.MiB(result.PeakRss),7:0.0} MiB"
                : $"FAILED: {result.Error}");
        }

        List<WorkloadResult> results = measured.Select(Combine).ToList();
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

    /// <summary>
    /// The order of the child processes: every (workload, allocator) cell once per round. Within a workload the
    /// allocators take turns at going first (the first child after a pause, or after the build, tends to run slow on
    /// a shared machine), and every second round runs the workloads and allocators backwards, so that no allocator
    /// always meets the same neighbours or the same moment of a noisy period.
    /// </summary>
    public static List<(int Cell, int Round)> Plan(int workloads, int competitors, int rounds)
    {
        var plan = new List<(int, int)>();
        for (int round = 0; round < rounds; round++)
        {
            for (int k = 0; k < workloads; k++)
            {
                int w = round % 2 == 0 ? k : workloads - 1 - k;
                for (int j = 0; j < competitors; j++)
                {
                    int c = (j + w + round) % competitors;
                    plan.Add(((w * competitors) + (round % 2 == 0 ? c : competitors - 1 - c), round));
                }
            }
        }

        return plan;
    }

    /// <summary>
    /// One cell's rounds as one result: failed when any round failed (so a flaky failure is not hidden), else the
    /// fastest round's time with the highest peak and end RSS of all rounds (memory is not flattered by the choice).
    /// </summary>
    public static WorkloadResult Combine(List<WorkloadResult> rounds)
    {
        WorkloadResult? failed = rounds.FirstOrDefault(r => !r.Ok);
        if (failed is not null)
        {
            return failed;
        }

        WorkloadResult fastest = rounds.MinBy(r => r.Seconds)!;
        return fastest with
        {
            PeakRss = rounds.Max(r => r.PeakRss),
            EndRss = rounds.Max(r => r.EndRss),
            Repetitions = rounds.Sum(r => r.Repetitions),
        };
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
    string OutputDirectory, TimeSpan Timeout, int Rounds)
{
    /// <summary>The command-line help.</summary>
    public static string Usage =>
        "usage: quick [--scale tiny|small|full|<factor>] [--threads N] [--rounds N] [--workloads a,b] [--allocators a,b] [--out DIR]\n" +
        "  --rounds: every cell runs this many times in separate children, the fastest counts (default 2; 1 below scale 0.25)\n" +
        $"  workloads:  {string.Join(", ", Workload.All)}\n" +
        $"  allocators: {string.Join(", ", Competitor.All)}";

    /// <summary>Parses the arguments after <c>quick</c>.</summary>
    public static QuickOptions Parse(IReadOnlyList<string> args)
    {
        var options = new QuickOptions(
            1.0, Environment.ProcessorCount, Workload.All, Competitor.All, DefaultOutputDirectory(), TimeSpan.FromMinutes(2), 0);
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
                "--rounds" => options with { Rounds = Math.Max(1, int.Parse(value, CultureInfo.InvariantCulture)) },
                _ => throw new ArgumentException("unknown option " + args[i]),
            };
            i++;
        }

        return options.Rounds > 0 ? options : options with { Rounds = options.Scale >= 0.25 ? 2 : 1 };
    }

    /// <summary>
    /// The integer value of option <paramref name="name"/> in <paramref name="args"/>, or <paramref name="fallback"/>
    /// when it is absent: for commands that add options of their own to these (see <see cref="ParseWithout"/>).
    /// </summary>
    public static int IntOption(IReadOnlyList<string> args, string name, int fallback)
    {
        int at = args.ToList().IndexOf(name);
        return at >= 0 && at + 1 < args.Count ? int.Parse(args[at + 1], CultureInfo.InvariantCulture) : fallback;
    }

    /// <summary>Parses <paramref name="args"/> without the options named in <paramref name="own"/> and their values.</summary>
    public static QuickOptions ParseWithout(IReadOnlyList<string> args, params string[] own) =>
        Parse(args.Where((_, i) => !own.Contains(args[i]) && (i == 0 || !own.Contains(args[i - 1]))).ToList());

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
