using Allocator.Benchmarks.Competitors;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Filters;
using BenchmarkDotNet.Jobs;

namespace Allocator.Benchmarks.Micro;

/// <summary>
/// BenchmarkDotNet configuration for every suite: benchmarks of a competitor whose library is missing are left out
/// (with the install line). The glibc tunable that lets jemalloc load is set only for the suites that load native
/// allocators (<see cref="NativeTunablesConfig"/>): it reserves about 4 MB of static TLS in every thread, more than
/// the 256 KiB stack the .NET thread pool gives its gate thread, so a process that starts that thread (a
/// <c>Pipe</c> on <c>Task.Run</c>) dies with "Failed to create the thread pool Gate thread" under it.
/// </summary>
public static class MicroConfig
{
    public static IConfig Create()
    {
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
            .AddFilter(new SimpleFilter(benchmark => !missing.Contains(benchmark.Descriptor.WorkloadMethod.Name)));
    }
}

/// <summary>
/// For suites that load native allocators (<see cref="HeapBenchmark"/>): their benchmark processes start with the
/// glibc tunable jemalloc needs, applied to every job, also those given on the command line (<c>--job short</c>).
/// </summary>
public sealed class NativeTunablesConfig : ManualConfig
{
    public NativeTunablesConfig()
    {
        var environment = new Dictionary<string, string?>();
        NativeLibraries.AddTunables(environment);
        AddJob(Job.Default
            .WithEnvironmentVariables(new EnvironmentVariable(NativeLibraries.TunablesVariable, environment[NativeLibraries.TunablesVariable]!))
            .AsMutator());
    }
}
