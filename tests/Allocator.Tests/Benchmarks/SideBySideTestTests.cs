using Allocator.Benchmarks.Competitors;
using Allocator.Benchmarks.Micro;
using Xunit;

namespace Allocator.Tests.Benchmarks;

/// <summary>Keeps the side-by-side test working: a few tiny rounds of ours against glibc, in this process.</summary>
[Collection(StatisticsCollection.Name)] // it allocates and frees large blocks, which the statistics tests count
public sealed class SideBySideTestTests
{
    [Fact]
    public void EveryRowIsTimedAndGlibcIsTheBaseline()
    {
        SideBySideEntry[] entries = [new SideBySideEntry<OursHeap>(), new SideBySideEntry<NativeMemoryHeap>()];

        SideBySideResult result = SideBySideTest.Run(entries, rounds: 3, pairs: 1_000, replacements: 1_000, largePasses: 1);
        NativeAllocator.Collect(true); // the large row's freed ranges leave the cache now, not a purge delay later

        Assert.Equal(3, result.Rounds);
        Assert.Equal([OursHeap.Name, NativeMemoryHeap.Name], result.Rows.Select(r => r.Allocator));
        SideBySideRow glibc = result.Rows[1];
        Assert.Equal(1.0, glibc.PairRatio);
        Assert.Equal(1.0, glibc.RandomRatio);
        Assert.Equal(1.0, glibc.LargeRatio);
        foreach (SideBySideRow row in result.Rows)
        {
            Assert.True(row.PairNs > 0 && row.RandomNs > 0 && row.LargeUs > 0, $"{row.Allocator}: every loop took time");
            Assert.True(row.PairRatio > 0 && row.RandomRatio > 0 && row.LargeRatio > 0, $"{row.Allocator}: every ratio is positive");
        }
    }

    [Fact]
    public void GlibcIsRequired()
    {
        var e = Assert.Throws<ArgumentException>(() => SideBySideTest.Run([new SideBySideEntry<OursHeap>()], 1, 10, 10, 1));
        Assert.Contains("glibc", e.Message);
    }
}
