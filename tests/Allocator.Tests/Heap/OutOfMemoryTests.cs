using Allocator.Platform;
using Xunit;

namespace Allocator.Tests.Heap;

/// <summary>mmap failures (injected through the OS layer's test seam) give OutOfMemoryException and leave the allocator consistent.</summary>
[Collection(StatisticsCollection.Name)]
public unsafe class OutOfMemoryTests
{
    [Fact]
    public void FailedSegmentMapThrowsAndAllocatorStaysConsistent()
    {
        var before = NativeAllocator.GetStatistics();
        var blocks = new List<nint>();
        OutOfMemoryException? caught = null;
        try
        {
            OsMemory.FailNextMaps = 1;
            // 200 KiB blocks: about 20 per segment, so a new segment is needed within a few dozen.
            for (int i = 0; i < 200 && caught is null; i++)
            {
                try
                {
                    blocks.Add((nint)NativeAllocator.Alloc(200_000));
                }
                catch (OutOfMemoryException e)
                {
                    caught = e;
                }
            }
        }
        finally
        {
            OsMemory.FailNextMaps = 0;
        }

        Assert.NotNull(caught);
        Assert.Contains("mmap failed: ENOMEM", caught!.Message);
        Assert.Equal(before.LiveBlocks + blocks.Count, NativeAllocator.GetStatistics().LiveBlocks);

        // The allocator keeps working, and the same size now succeeds.
        blocks.Add((nint)NativeAllocator.Alloc(200_000));
        BadInputTests.AssertAllocatorWorks();
        foreach (nint p in blocks)
        {
            NativeAllocator.Free((void*)p);
        }

        Assert.Equal(before.LiveBlocks, NativeAllocator.GetStatistics().LiveBlocks);
    }

    [Fact]
    public void FailedLargeMapAndRemapThrowAndKeepTheOldBlock()
    {
        NativeAllocator.Collect(true); // empty the large-block cache, so the next large block needs a fresh map
        var before = NativeAllocator.GetStatistics();
        try
        {
            OsMemory.FailNextMaps = 1;
            var e = Assert.Throws<OutOfMemoryException>(() => { NativeAllocator.Alloc(10 << 20); });
            Assert.Contains("ENOMEM", e.Message);
        }
        finally
        {
            OsMemory.FailNextMaps = 0;
        }

        Assert.Equal(before.LiveBlocks, NativeAllocator.GetStatistics().LiveBlocks);

        byte* p = (byte*)NativeAllocator.Alloc(1 << 20);
        new Span<byte>(p, 1 << 20).Fill(0x3C);
        try
        {
            // mremap fails, and so does the mmap of the allocate-copy-free fallback.
            OsMemory.FailNextMaps = 2;
            var e = Assert.Throws<OutOfMemoryException>(() => { NativeAllocator.Realloc(p, 64 << 20); });
            Assert.Contains("mremap failed: ENOMEM", e.Message);
        }
        finally
        {
            OsMemory.FailNextMaps = 0;
        }

        Assert.True(new Span<byte>(p, 1 << 20).IndexOfAnyExcept((byte)0x3C) < 0);
        Assert.Equal((nuint)(1 << 20), NativeAllocator.UsableSize(p));

        // When only mremap fails, Realloc falls back to allocate, copy and free.
        try
        {
            OsMemory.FailNextMaps = 1;
            p = (byte*)NativeAllocator.Realloc(p, 32 << 20);
        }
        finally
        {
            OsMemory.FailNextMaps = 0;
        }

        Assert.True(new Span<byte>(p, 1 << 20).IndexOfAnyExcept((byte)0x3C) < 0);
        p = (byte*)NativeAllocator.Realloc(p, 64 << 20);
        Assert.True(new Span<byte>(p, 1 << 20).IndexOfAnyExcept((byte)0x3C) < 0);
        NativeAllocator.Free(p);
        Assert.Equal(before.LiveBlocks, NativeAllocator.GetStatistics().LiveBlocks);
        BadInputTests.AssertAllocatorWorks();
    }
}
