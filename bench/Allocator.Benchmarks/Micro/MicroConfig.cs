using Allocator.Benchmarks.Competitors;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Filters;
using BenchmarkDotNet.Jobs;

namespace Allocator.Benchmarks.Micro;

/// <summary>
/// BenchmarkDotNet configuration for the micro suites: benchmark processes start with the glibc tunable that lets
/// jemalloc load, and benchmarks of a competitor whose library is missing are left out (with the install line).
/// </summary>
public static class MicroConfig
{
    public static IConfig Create()
    {
        var environment = new Dictionary<string, string?>();
        NativeLibraries.AddTunables(environment);
        Job job = Job.Default
            .WithEnvironmentVariables(new EnvironmentVariable(NativeLibraries.TunablesVariable, environment[NativeLibraries.TunablesVariable]!))
            .AsMutator(); // applied to every job, also those given on the command line (--job short)

        var missing = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        foreach (NativeLibraryInfo library in new[] { NativeLibraries.Mimalloc, NativeLibraries.Jemalloc, NativeLibraries.Tcmalloc })
        {
            if (!NativeLibraries.IsAvailable(library, out string? line))
            {
                Console.WriteLine(line);
                missing.Add(library.Key);
            }
        }

        return DefaultConfig.Instance
            .AddJob(job)
            .AddFilter(new SimpleFilter(benchmark => !missing.Contains(benchmark.Descriptor.WorkloadMethod.Name)));
    }
}
