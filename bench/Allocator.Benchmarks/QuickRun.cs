using System.Runtime.InteropServices;
using BenchmarkDotNet.Columns;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Diagnosers;
using BenchmarkDotNet.Exporters;
using BenchmarkDotNet.Jobs;
using BenchmarkDotNet.Loggers;
using BenchmarkDotNet.Reports;
using BenchmarkDotNet.Running;
using BenchmarkDotNet.Toolchains.InProcess.Emit;
using Perfolizer.Horology;

namespace Allocator.Benchmarks;

/// <summary>
/// The <c>quick</c> command: each section is a BenchmarkDotNet class run with a short in-process job
/// (1 launch, 2 warm-up and 5 measured iterations of about 100 ms), quietly, then printed as one
/// Markdown table with ratios to the section's baselines and allocated bytes.
/// </summary>
internal static class QuickRun
{
    /// <summary>The short job: in-process, so no separate project is generated and built.</summary>
    private static IConfig Config { get; } = ManualConfig.CreateEmpty()
        .AddJob(Job.Default
            .WithLaunchCount(1)
            .WithWarmupCount(2)
            .WithIterationCount(5)
            .WithIterationTime(TimeInterval.FromMilliseconds(100))
            .WithToolchain(InProcessEmitToolchain.Instance)
            .WithId("Quick"))
        .AddColumnProvider(DefaultColumnProviders.Instance)
        .AddDiagnoser(MemoryDiagnoser.Default)
        .AddLogger(NullLogger.Instance)
        .AddLogicalGroupRules(BenchmarkLogicalGroupRule.ByCategory, BenchmarkLogicalGroupRule.ByParams)
        .HideColumns(Column.Job, Column.Error, Column.RatioSD, Column.Gen0, Column.Gen1, Column.Gen2)
        .WithOptions(ConfigOptions.JoinSummary | ConfigOptions.DisableLogFile);

    /// <summary>Runs the sections whose names are in <paramref name="only"/> (all when empty); 0 when every benchmark ran.</summary>
    public static int Run(IReadOnlyList<(string Name, Type Benchmarks)> sections, string[] only)
    {
        var selected = sections.Where(s => only.Length == 0 || only.Contains(s.Name, StringComparer.OrdinalIgnoreCase)).ToList();
        if (selected.Count == 0)
        {
            Console.Error.WriteLine($"No section named {string.Join(", ", only)}; sections: {string.Join(", ", sections.Select(s => s.Name))}.");
            return 2;
        }

        int failures = 0;
        foreach ((string name, Type benchmarks) in selected)
        {
            Console.WriteLine($"## {name} ({benchmarks.Name})");
            Console.WriteLine();
            var started = System.Diagnostics.Stopwatch.StartNew();
            Summary summary = BenchmarkRunner.Run(benchmarks, Config);
            MarkdownExporter.Console.ExportToLog(summary, ConsoleLogger.Default);
            Console.WriteLine();
            Console.WriteLine($"({summary.Reports.Length} cases in {started.Elapsed.TotalSeconds:F0} s; {RuntimeInformation.OSDescription}, {RuntimeInformation.OSArchitecture}, {Environment.ProcessorCount} cores, {RuntimeInformation.FrameworkDescription})");
            Console.WriteLine();
            if (summary.HasCriticalValidationErrors || summary.Reports.Any(r => !r.Success))
            {
                failures++;
                foreach (var error in summary.ValidationErrors)
                {
                    Console.Error.WriteLine(error.Message);
                }
            }
        }

        return failures == 0 ? 0 : 1;
    }
}
