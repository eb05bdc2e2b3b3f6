using System.Diagnostics;
using Allocator.Benchmarks.Competitors;

namespace Allocator.Benchmarks.Micro;

/// <summary>What <see cref="ScalingTest"/> measured for one allocator.</summary>
/// <param name="OneThreadMs">Median time of the 1-thread runs.</param>
/// <param name="TwoThreadMs">Median time of the 2-thread runs.</param>
/// <param name="Scaling">Median of the paired ratios (1-thread time / 2-thread time of the same round).</param>
/// <param name="LowestScaling">The lowest paired ratio.</param>
/// <param name="HighestScaling">The highest paired ratio.</param>
public sealed record ScalingResult(
    string Allocator, int Rounds, int Replacements, double OneThreadMs, double TwoThreadMs, double Scaling,
    double LowestScaling, double HighestScaling);

/// <summary>
/// The two-thread row of issue 3, measured in pairs: the random-size workload (8-1024 B, 10,000 live blocks per
/// thread, random replacement) done once by one thread and once split between two, back to back in the same
/// process, round after round, alternating which goes first. The paired ratio cancels the slow drifts of a shared
/// machine, which the BenchmarkDotNet case (1-thread and 2-thread runs in separate processes, minutes apart) cannot.
/// </summary>
/// <remarks>
/// Two workers live for the whole test, each on its own live set; the idle one blocks (a semaphore), so it takes no
/// core from the other, and the main thread blocks until the work is done. A run is long (1,000,000 replacements by
/// default, tens of milliseconds) against the wake-up of a blocked thread.
/// </remarks>
public static class ScalingTest
{
    private const int LiveBlocks = 10_000;
    private const int WarmupRounds = 3;

    /// <summary>Runs the test on <typeparamref name="THeap"/>.</summary>
    public static ScalingResult Run<THeap>(int rounds, int replacements) where THeap : INativeHeap
    {
        var sets = new LiveSet<nint>[2];
        var work = new int[2];
        var start = new[] { new SemaphoreSlim(0), new SemaphoreSlim(0) };
        using var ready = new CountdownEvent(2);
        using var done = new CountdownEvent(1);
        bool stop = false;
        var workers = new Thread[2];
        for (int t = 0; t < 2; t++)
        {
            int index = t;
            workers[t] = new Thread(() =>
            {
                LiveSet<nint> set = sets[index] = new LiveSet<nint>(LiveBlocks, 8, 1024, seed: 4141); // one sequence, so 1 and 2 threads do the same work
                set.Fill<NativeBlocks<THeap>>();
                ready.Signal();
                while (true)
                {
                    start[index].Wait();
                    if (Volatile.Read(ref stop))
                    {
                        set.Clear<NativeBlocks<THeap>>();
                        return;
                    }

                    set.Replace<NativeBlocks<THeap>>(work[index]);
                    done.Signal();
                }
            }) { IsBackground = true, Name = $"scaling-{t}" };
            workers[t].Start();
        }

        ready.Wait();
        double Measure(int threads)
        {
            done.Reset(threads);
            work[0] = threads == 1 ? replacements : replacements / 2;
            work[1] = replacements - work[0];
            long begin = Stopwatch.GetTimestamp();
            for (int t = 0; t < threads; t++)
            {
                start[t].Release();
            }

            done.Wait();
            return Stopwatch.GetElapsedTime(begin).TotalMilliseconds;
        }

        for (int i = 0; i < WarmupRounds; i++)
        {
            Measure(1);
            Measure(2);
        }

        var one = new List<double>();
        var two = new List<double>();
        var ratios = new List<double>();
        for (int round = 0; round < rounds; round++)
        {
            double a, b;
            if (round % 2 == 0)
            {
                a = Measure(1);
                b = Measure(2);
            }
            else
            {
                b = Measure(2);
                a = Measure(1);
            }

            one.Add(a);
            two.Add(b);
            ratios.Add(a / b);
        }

        Volatile.Write(ref stop, true);
        for (int t = 0; t < 2; t++)
        {
            start[t].Release();
            workers[t].Join();
            start[t].Dispose();
        }

        return new ScalingResult(
            THeap.Name, rounds, replacements, Stats.Median(one), Stats.Median(two), Stats.Median(ratios), ratios.Min(), ratios.Max());
    }
}
