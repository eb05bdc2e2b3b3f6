using System.Runtime.InteropServices;
using Xunit;

namespace Allocator.Tests;

/// <summary>The NativeMemory contracts, kept by NativeAllocator.</summary>
public unsafe class NativeAllocatorContractTests
{
    [Fact]
    public void ZeroSizeGivesUniqueNonNullPointers()
    {
        void* a = NativeAllocator.Alloc(0);
        void* b = NativeAllocator.Alloc(0);
        Assert.True(a != null);
        Assert.True(b != null);
        Assert.True(a != b);
        NativeAllocator.Free(a);
        NativeAllocator.Free(b);
    }

    [Fact]
    public void OverflowingElementCountThrowsOutOfMemory()
    {
        Assert.Throws<OutOfMemoryException>(() => { NativeAllocator.Alloc(nuint.MaxValue / 2, 4); });
        Assert.Throws<OutOfMemoryException>(() => { NativeAllocator.AllocZeroed(nuint.MaxValue, 2); });
        Assert.Throws<OutOfMemoryException>(() => { NativeAllocator.Alloc(nuint.MaxValue - 4096); });
        Assert.Throws<OutOfMemoryException>(() => { NativeAllocator.Alloc((nuint)1 << 47); });
    }

    [Theory]
    [InlineData(0)]
    [InlineData(3)]
    [InlineData(24)]
    [InlineData(4097)]
    public void BadAlignmentThrowsArgumentException(int alignment)
    {
        var e = Assert.Throws<ArgumentException>(() => { NativeAllocator.AlignedAlloc(64, (nuint)alignment); });
        Assert.Contains("power of two", e.Message);
        void* p = NativeAllocator.Alloc(16);
        Assert.Throws<ArgumentException>(() => { NativeAllocator.AlignedRealloc(p, 64, (nuint)alignment); });
        NativeAllocator.Free(p);
    }

    [Fact]
    public void ReallocNullIsAllocAndFreeNullIsNoOp()
    {
        void* p = NativeAllocator.Realloc(null, 100);
        Assert.True(p != null);
        Assert.True(NativeAllocator.UsableSize(p) >= 100);
        NativeAllocator.Free(p);
        NativeAllocator.Free(null);
        NativeAllocator.AlignedFree(null);
        Assert.Equal((nuint)0, NativeAllocator.UsableSize(null));
    }

    [Theory]
    [InlineData(1)]
    [InlineData(16)]
    [InlineData(100)]
    [InlineData(1000)]
    [InlineData(5000)]
    [InlineData(40_000)]
    [InlineData(200_000)]
    [InlineData(300_000)]
    [InlineData(5_000_000)]
    public void BlocksHoldTheirContentsAndAreSixteenByteAligned(int size)
    {
        byte* p = (byte*)NativeAllocator.Alloc((nuint)size);
        Assert.Equal((nuint)0, (nuint)p % 16);
        Assert.True(NativeAllocator.UsableSize(p) >= (nuint)size);
        new Span<byte>(p, size).Fill(0xAB);
        byte* q = (byte*)NativeAllocator.AllocZeroed((nuint)size);
        Assert.True(new Span<byte>(q, size).IndexOfAnyExcept((byte)0) < 0);
        Assert.True(new Span<byte>(p, size).IndexOfAnyExcept((byte)0xAB) < 0);
        NativeAllocator.Free(p);
        NativeAllocator.Free(q);
    }

    [Theory]
    [InlineData(32)]
    [InlineData(64)]
    [InlineData(256)]
    [InlineData(4096)]
    [InlineData(65536)]
    [InlineData(1 << 20)]
    [InlineData(4 << 20)]
    public void AlignedAllocHonoursAlignmentUpToFourMiB(int alignment)
    {
        foreach (int size in new[] { 1, 100, 5000, 300_000 })
        {
            void* p = NativeAllocator.AlignedAlloc((nuint)size, (nuint)alignment);
            Assert.Equal((nuint)0, (nuint)p % (nuint)alignment);
            Assert.True(NativeAllocator.UsableSize(p) >= (nuint)size);
            new Span<byte>(p, size).Fill(7);
            void* q = NativeAllocator.AlignedRealloc(p, (nuint)size * 3, (nuint)alignment);
            Assert.Equal((nuint)0, (nuint)q % (nuint)alignment);
            Assert.True(new Span<byte>(q, size).IndexOfAnyExcept((byte)7) < 0);
            // Free and AlignedFree are interchangeable.
            if (size % 2 == 0)
            {
                NativeAllocator.Free(q);
            }
            else
            {
                NativeAllocator.AlignedFree(q);
            }
        }
    }

    [Fact]
    public void ReallocKeepsContentsAcrossEveryPath()
    {
        byte* p = (byte*)NativeAllocator.Alloc(16);
        nuint size = 16;
        for (int i = 0; i < 16; i++)
        {
            p[i] = (byte)i;
        }

        while (size < (8u << 20))
        {
            nuint next = size * 3 / 2 + 1;
            p = (byte*)NativeAllocator.Realloc(p, next);
            for (nuint i = 0; i < 16; i++)
            {
                Assert.Equal((byte)i, p[i]);
            }

            p[next - 1] = 0x5A;
            size = next;
        }

        while (size > 16)
        {
            size /= 3;
            p = (byte*)NativeAllocator.Realloc(p, size);
            for (nuint i = 0; i < 16; i++)
            {
                Assert.Equal((byte)i, p[i]);
            }
        }

        NativeAllocator.Free(p);
    }

    [Fact]
    public void ABlockThatReallocGrowsPastTheThresholdBecomesPageGranularAndKeepsGrowing()
    {
        const nuint PageSize = 4096;
        nuint below = 6000; // class 6144, under the threshold
        Assert.True(below < NativeAllocator.ReallocToLargeThreshold);
        byte* p = (byte*)NativeAllocator.Alloc(100);
        p[0] = 7;
        p = (byte*)NativeAllocator.Realloc(p, below);
        Assert.Equal(7, p[0]);
        Assert.NotEqual(0u, NativeAllocator.UsableSize(p) % PageSize); // still an arena size class

        nuint size = NativeAllocator.ReallocToLargeThreshold + 100;
        p = (byte*)NativeAllocator.Realloc(p, size);
        Assert.Equal(7, p[0]);
        Assert.Equal(0u, (nuint)p % PageSize); // its own page-granular range now
        Assert.Equal(0u, NativeAllocator.UsableSize(p) % PageSize);
        Assert.True(NativeAllocator.UsableSize(p) - size < PageSize);
        p[size - 1] = 9;

        // Growing within the usable size, and shrinking, stay in place.
        nuint usable = NativeAllocator.UsableSize(p);
        Assert.True(NativeAllocator.Realloc(p, usable) == p);
        Assert.True(NativeAllocator.Realloc(p, size) == p);
        for (nuint next = size * 2; next < (4u << 20); next *= 2)
        {
            p = (byte*)NativeAllocator.Realloc(p, next);
            Assert.Equal(7, p[0]);
            Assert.Equal(9, p[size - 1]);
            Assert.True(NativeAllocator.UsableSize(p) >= next);
        }

        NativeAllocator.Free(p);
    }

    [Fact]
    public void ReallocInPlaceWhenUsableSizeAllows()
    {
        void* p = NativeAllocator.Alloc(100);
        nuint usable = NativeAllocator.UsableSize(p);
        Assert.True(NativeAllocator.Realloc(p, usable) == p);
        Assert.True(NativeAllocator.Realloc(p, 10) == p);
        NativeAllocator.Free(p);
    }

    [Fact]
    public void ClearCopyFillBehaveLikeNativeMemory()
    {
        byte* a = (byte*)NativeAllocator.Alloc(64);
        byte* b = (byte*)NativeAllocator.Alloc(64);
        NativeAllocator.Fill(a, 64, 9);
        NativeAllocator.Copy(a, b, 64);
        Assert.True(new Span<byte>(b, 64).IndexOfAnyExcept((byte)9) < 0);
        NativeAllocator.Clear(b, 32);
        Assert.True(new Span<byte>(b, 32).IndexOfAnyExcept((byte)0) < 0);
        Assert.Equal(9, b[32]);
        NativeAllocator.Free(a);
        NativeAllocator.Free(b);
    }
}
