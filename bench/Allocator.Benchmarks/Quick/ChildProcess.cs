using System.Diagnostics;
using System.Text.Json;
using Allocator.Benchmarks.Competitors;
using Allocator.Benchmarks.Workloads;

namespace Allocator.Benchmarks.Quick;

/// <summary>One workload run on one allocator, as measured in its own process.</summary>
public sealed record WorkloadResult(
    string Workload, string Allocator, bool Ok, string? Error,
    double Seconds, long Operations, long StartRss, long PeakRss, long EndRss, bool PeakIsReset,
    int GcCount, double GcPauseMilliseconds, int Repetitions)
{
    /// <summary>A result for a child that died or could not be read.</summary>
    public static WorkloadResult Failed(string workload, string allocator, string error) =>
        new(workload, allocator, false, error, 0, 0, 0, 0, 0, false, 0, 0, 0);
}

/// <summary>
/// Each allocator runs each workload in a fresh child process (this executable, re-launched with a hidden verb),
/// so RSS figures belong to one allocator and one workload, and a crashing allocator takes down only its child.
/// The child prints one result line that starts with <see cref="ResultPrefix"/>.
/// </summary>
public static class ChildProcess
{
    /// <summary>The hidden first argument that makes this executable a child.</summary>
    public const string Verb = "__child";

    private const string ResultPrefix = "@@result ";

    /// <summary>
    /// Fraction of the run's scale used for the warm-up run, which lets the JIT tier up the workload and the
    /// allocator before the measured run.
    /// </summary>
    private const double WarmupFraction = 0.05;

    /// <summary>
    /// Batches of <see cref="TierUpBatchCalls"/> calls of the workload at <see cref="TierUpFraction"/> of the scale
    /// before the warm-up run, with a pause of <see cref="TierUpPauseMs"/> after each. The C originals run compiled
    /// code from their first loop; a .NET method gets to tier 1 only after a number of calls at tier 0 and as many
    /// again in its instrumented tier (children start with <c>DOTNET_TC_CallCountThreshold=8</c>), and calls made
    /// while the background compiler is still busy with the next tier do not count, hence the pauses. A workload whose
    /// hot loop sits in a method called once per thread per run otherwise runs that loop in on-stack-replacement code
    /// compiled from the instrumented tier: a profile of larson showed 17% of its samples in such code, and with the
    /// tier-up larson took about 40% less time, for mimalloc and for ours alike.
    /// </summary>
    private const int TierUpBatches = 3;

    /// <summary>Calls per tier-up batch: the call-count threshold children start with.</summary>
    private const int TierUpBatchCalls = 8;

    /// <summary>Pause after each tier-up batch, for the background compiler.</summary>
    private const int TierUpPauseMs = 25;

    /// <summary>Fraction of the run's scale for each tier-up call.</summary>
    private const double TierUpFraction = 0.002;

    /// <summary>Fewest timed runs per child from the small scale up; the fastest counts, which filters out the noise
    /// of a shared 2-core machine. Peak RSS is over all of them.</summary>
    private const int Repetitions = 2;

    /// <summary>
    /// A child repeats its timed run until the runs add up to this many seconds (at most
    /// <see cref="MaxRepetitions"/> runs), so that a workload that takes 50 ms gets as many chances to meet a quiet
    /// moment of a shared machine as one that takes 300 ms. Every allocator gets the same rule.
    /// </summary>
    private const double MinTimedSeconds = 0.3;

    /// <summary>The most timed runs per child.</summary>
    private const int MaxRepetitions = 6;

    /// <summary>Child side: runs what the arguments say and prints the result line.</summary>
    public static int Run(string[] args)
    {
        // __child workload <workload> <allocator> <scale> <threads>  |  __child memory <allocator> <blocks>
        //   |  __child scaling <allocator> <rounds> <replacements>
        //   |  __child side-by-side <a,b,...> <rounds> <pairs> <replacements> <large passes>
        object result = args[0] switch
        {
            "side-by-side" => Micro.SideBySideTest.Run(
                args[1].Split(',').Select(name => FindCompetitor(name).CreateSideBySideEntry()).ToList(),
                int.Parse(args[2]), int.Parse(args[3]), int.Parse(args[4]), int.Parse(args[5])),
            "scaling" when args[1] == ReferenceHeap.Name => Micro.ScalingTest.Run<ReferenceHeap>(int.Parse(args[2]), int.Parse(args[3])),
            _ => RunForCompetitor(args),
        };
        Console.Out.WriteLine(ResultPrefix + JsonSerializer.Serialize(result, result.GetType()));
        Console.Out.Flush();
        return 0;
    }

    /// <summary>Child side: the memory test, the scaling test or a workload, on the competitor the arguments name.</summary>
    private static object RunForCompetitor(string[] args)
    {
        Competitor competitor = FindCompetitor(args[args[0] is "memory" or "scaling" ? 1 : 2]);
        return args[0] == "memory"
            ? competitor.RunMemoryTest(new MemoryTestRun(Blocks: int.Parse(args[2])))
            : args[0] == "scaling"
            ? competitor.RunScalingTest(int.Parse(args[2]), int.Parse(args[3]))
            : RunWorkload(
                Workload.Find(args[1]) ?? throw new ArgumentException("unknown workload " + args[1]), competitor,
                new WorkloadRun(double.Parse(args[3], System.Globalization.CultureInfo.InvariantCulture), int.Parse(args[4])));
    }

    private static Competitor FindCompetitor(string name) =>
        Competitor.Find(name) ?? throw new ArgumentException("unknown allocator " + name);

    /// <summary>Parent side: runs one workload on one allocator in a child.</summary>
    public static WorkloadResult RunWorkload(Workload workload, Competitor competitor, WorkloadRun run, TimeSpan timeout)
    {
        string[] args =
        [
            Verb, "workload", workload.Name, competitor.Name,
            run.Scale.ToString(System.Globalization.CultureInfo.InvariantCulture), run.Threads.ToString(),
        ];
        return Launch<WorkloadResult>(args, timeout, out string? problem)
            ?? WorkloadResult.Failed(workload.Name, competitor.Name, problem ?? "no result");
    }

    /// <summary>Parent side: runs the paired two-thread scaling test on one allocator in a child.</summary>
    public static Micro.ScalingResult? RunScalingTest(Competitor competitor, int rounds, int replacements, TimeSpan timeout, out string? problem) =>
        RunScalingTest(competitor.Name, rounds, replacements, timeout, out problem);

    /// <summary>Parent side: runs the paired scaling test on the allocator named <paramref name="name"/> (a competitor, or <see cref="ReferenceHeap"/>'s name).</summary>
    public static Micro.ScalingResult? RunScalingTest(string name, int rounds, int replacements, TimeSpan timeout, out string? problem) =>
        Launch<Micro.ScalingResult>([Verb, "scaling", name, rounds.ToString(), replacements.ToString()], timeout, out problem);

    /// <summary>Parent side: runs the side-by-side test on the allocators named in <paramref name="names"/>, in one child.</summary>
    public static Micro.SideBySideResult? RunSideBySideTest(IEnumerable<string> names, int rounds, int pairs, int replacements, int largePasses, TimeSpan timeout, out string? problem) =>
        Launch<Micro.SideBySideResult>([Verb, "side-by-side", string.Join(',', names), rounds.ToString(), pairs.ToString(), replacements.ToString(), largePasses.ToString()], timeout, out problem);

    /// <summary>Parent side: runs the memory test on one allocator in a child.</summary>
    public static MemoryTestResult? RunMemoryTest(Competitor competitor, int blocks, TimeSpan timeout, out string? problem) =>
        Launch<MemoryTestResult>([Verb, "memory", competitor.Name, blocks.ToString()], timeout, out problem);

    private static WorkloadResult RunWorkload(Workload workload, Competitor competitor, WorkloadRun run)
    {
        try
        {
            // From the small scale up the child tiers the workload up, waits for the compiler and repeats its timed
            // run; at tiny scales (tests) none of that is worth its time.
            bool full = run.Scale >= 0.25;
            for (int batch = 0; full && batch < TierUpBatches; batch++)
            {
                for (int i = 0; i < TierUpBatchCalls; i++)
                {
                    competitor.Run(workload, run with { Scale = run.Scale * TierUpFraction });
                }

                Thread.Sleep(TierUpPauseMs);
            }

            competitor.Run(workload, run with { Scale = run.Scale * WarmupFraction });
            Thread.Sleep(full ? 100 : 0); // let background tier-1 compilation finish
            GC.Collect();
            GC.WaitForPendingFinalizers();
            bool peakIsReset = ProcessMemory.TryResetPeak();
            long startRss = ProcessMemory.Rss;
            int gcCount = GC.CollectionCount(0);
            TimeSpan gcPause = GC.GetTotalPauseDuration();
            long operations = 0;
            double seconds = double.MaxValue;
            int repetitions = 0;
            double timed = 0;
            do
            {
                long start = Stopwatch.GetTimestamp();
                operations = competitor.Run(workload, run);
                double elapsed = Stopwatch.GetElapsedTime(start).TotalSeconds;
                seconds = Math.Min(seconds, elapsed);
                timed += elapsed;
                repetitions++;
            }
            while (full && repetitions < MaxRepetitions && (repetitions < Repetitions || timed < MinTimedSeconds));

            long peakRss = ProcessMemory.PeakRss;
            return new WorkloadResult(
                workload.Name, competitor.Name, true, null, seconds, operations, startRss, peakRss, ProcessMemory.Rss,
                peakIsReset, GC.CollectionCount(0) - gcCount, (GC.GetTotalPauseDuration() - gcPause).TotalMilliseconds,
                repetitions);
        }
        catch (Exception e)
        {
            return WorkloadResult.Failed(workload.Name, competitor.Name, $"{e.GetType().Name}: {e.Message}");
        }
    }

    private static T? Launch<T>(string[] args, TimeSpan timeout, out string? problem) where T : class
    {
        ProcessStartInfo start = SelfStartInfo(args);
        using var process = Process.Start(start) ?? throw new InvalidOperationException("cannot start " + start.FileName);
        Task<string> stdout = process.StandardOutput.ReadToEndAsync();
        Task<string> stderr = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(timeout))
        {
            process.Kill(entireProcessTree: true);
            process.WaitForExit();
            problem = $"timed out after {timeout.TotalSeconds:0} s";
            return null;
        }

        string output = stdout.Result;
        int at = output.IndexOf(ResultPrefix, StringComparison.Ordinal);
        if (at >= 0)
        {
            string json = output[(at + ResultPrefix.Length)..].Split('\n')[0];
            problem = null;
            return JsonSerializer.Deserialize<T>(json);
        }

        string error = stderr.Result.Trim();
        string firstLine = error.Split('\n').FirstOrDefault(l => l.Length > 0)?.Trim() ?? "";
        problem = $"child exited with code {process.ExitCode}{(firstLine.Length > 0 ? ": " + firstLine : "")}";
        return null;
    }

    /// <summary>How to start this executable again: its apphost where there is one, else <c>dotnet exec</c>.</summary>
    private static ProcessStartInfo SelfStartInfo(string[] args)
    {
        string dll = typeof(ChildProcess).Assembly.Location;
        string appHost = Path.ChangeExtension(dll, OperatingSystem.IsWindows() ? ".exe" : null);
        ProcessStartInfo start;
        if (File.Exists(appHost))
        {
            start = new ProcessStartInfo(appHost, args);
        }
        else
        {
            start = new ProcessStartInfo(DotnetHost(), ["exec", dll, .. args]);
        }

        start.RedirectStandardOutput = true;
        start.RedirectStandardError = true;
        start.UseShellExecute = false;
        NativeLibraries.AddTunables(start.Environment);
        start.Environment["DOTNET_TC_CallCountingDelayMs"] = "0"; // count calls from the start
        start.Environment["DOTNET_TC_CallCountThreshold"] = "8"; // tier up after 8 calls per tier instead of 30 (see TierUpBatches)
        return start;
    }

    private static string DotnetHost()
    {
        if (Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } host)
        {
            return host;
        }

        string? self = Environment.ProcessPath;
        return self is not null && Path.GetFileNameWithoutExtension(self) == "dotnet" ? self : "dotnet";
    }
}
