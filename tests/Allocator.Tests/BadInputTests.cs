using System.Runtime.InteropServices;
using Xunit;

namespace Allocator.Tests;

/// <summary>Bad pointers give a clear exception, never a crash or corruption, and the allocator keeps working.</summary>
public unsafe class BadInputTests
{
    /// <summary>Proves the allocator still works: many blocks of several sizes, filled and checked, then freed.</summary>
    internal static void AssertAllocatorWorks()
    {
        var blocks = new List<(nint P, int Size, byte Fill)>();
        int[] sizes = [8, 16, 64, 100, 1000, 5000, 40_000, 300_000];
        for (int i = 0; i < 400; i++)
        {
            int size = sizes[i % sizes.Length];
            byte fill = (byte)(i + 1);
            byte* p = (byte*)NativeAllocator.Alloc((nuint)size);
            new Span<byte>(p, size).Fill(fill);
            blocks.Add(((nint)p, size, fill));
        }

        var distinct = new HashSet<nint>(blocks.Select(b => b.P));
        Assert.Equal(blocks.Count, distinct.Count);
        foreach ((nint p, int size, byte fill) in blocks)
        {
            Assert.True(new Span<byte>((void*)p, size).IndexOfAnyExcept(fill) < 0);
            NativeAllocator.Free((void*)p);
        }
    }

    private static void AssertNotOurs(void* p)
    {
        var e = Assert.Throws<ArgumentException>(() => NativeAllocator.Free(p));
        Assert.Contains("not a block allocated by this allocator", e.Message);
        Assert.Throws<ArgumentException>(() => { NativeAllocator.Realloc(p, 10); });
        Assert.Throws<ArgumentException>(() => { NativeAllocator.UsableSize(p); });
        Assert.Throws<ArgumentException>(() => NativeAllocator.AlignedFree(p));
        AssertAllocatorWorks();
    }

    [Fact]
    public void StackAddressIsRejected()
    {
        byte* onStack = stackalloc byte[64];
        AssertNotOurs(onStack);
    }

    [Fact]
    public void PinnedManagedArrayIsRejected()
    {
        byte[] array = GC.AllocateArray<byte>(256, pinned: true);
        fixed (byte* p = array)
        {
            AssertNotOurs(p);
        }
    }

    [Fact]
    public void NativeMemoryBlockIsRejected()
    {
        void* small = NativeMemory.Alloc(64);
        void* big = NativeMemory.Alloc(1 << 20);
        try
        {
            AssertNotOurs(small);
            AssertNotOurs(big);
        }
        finally
        {
            NativeMemory.Free(small);
            NativeMemory.Free(big);
        }
    }

    [Fact]
    public void AddressFarFromAnyHeapIsRejected()
    {
        AssertNotOurs((void*)0x10);
        AssertNotOurs((void*)0x7000_0000_1230);
        AssertNotOurs((void*)unchecked((nint)0xffff_ffff_ffff_f000));
    }

    [Theory]
    [InlineData(64)]
    [InlineData(1000)]
    [InlineData(40_000)]
    public void AddressAboveTheUserSpaceThatAliasesALiveBlockIsRejected(int size)
    {
        // Pointers whose low 47 bits are a live block's: a lookup that dropped the high bits would find the block's
        // page, and then read descriptors at an address that is not mapped. They must be rejected without that.
        byte* block = (byte*)NativeAllocator.Alloc((nuint)size);
        try
        {
            AssertNotOurs(block + (1L << 47));
            AssertNotOurs(block + (5L << 47));
            AssertNotOurs((void*)((nuint)block | unchecked((nuint)0xffff_8000_0000_0000)));
            Assert.True(NativeAllocator.UsableSize(block) >= (nuint)size, "the live block is untouched");
        }
        finally
        {
            NativeAllocator.Free(block);
        }
    }

    [Theory]
    [InlineData(64, 8)]
    [InlineData(64, 16)]
    [InlineData(1000, 1)]
    [InlineData(40_000, 4096)]
    [InlineData(300_000, 16)]
    [InlineData(300_000, 8192)]
    [InlineData(5_000_000, 4_194_304)]
    public void PointerIntoTheMiddleOfABlockIsRejected(int size, int offset)
    {
        byte* p = (byte*)NativeAllocator.Alloc((nuint)size);
        p[0] = 42;
        var e = Assert.Throws<ArgumentException>(() => NativeAllocator.Free(p + offset));
        Assert.Contains("not a block allocated by this allocator", e.Message);
        Assert.Throws<ArgumentException>(() => { NativeAllocator.Realloc(p + offset, 10); });
        Assert.Equal(42, p[0]);
        Assert.True(NativeAllocator.UsableSize(p) >= (nuint)size);
        NativeAllocator.Free(p);
        AssertAllocatorWorks();
    }

    [Fact]
    public void PointerIntoAllocatorMetadataIsRejected()
    {
        byte* p = (byte*)NativeAllocator.Alloc(64);
        byte* segment = (byte*)((nuint)p & ~(nuint)((4 << 20) - 1));
        var e = Assert.Throws<ArgumentException>(() => NativeAllocator.Free(segment + 64));
        Assert.Contains("metadata", e.Message);
        NativeAllocator.Free(p);
        AssertAllocatorWorks();
    }

    [Theory]
    [InlineData(16)]
    [InlineData(64)]
    [InlineData(1000)]
    [InlineData(20_000)]
    [InlineData(200_000)]
    [InlineData(1_000_000)]
    public void DoubleFreeIsDetected(int size)
    {
        void* p = NativeAllocator.Alloc((nuint)size);
        NativeAllocator.Free(p);
        var e = Assert.Throws<InvalidOperationException>(() => NativeAllocator.Free(p));
        Assert.Contains("double free", e.Message);
        Assert.Throws<InvalidOperationException>(() => NativeAllocator.AlignedFree(p));
        Assert.Throws<InvalidOperationException>(() => { NativeAllocator.Realloc(p, (nuint)size * 2); });
        Assert.Throws<InvalidOperationException>(() => { NativeAllocator.UsableSize(p); });
        AssertAllocatorWorks();
    }

    [Fact]
    public void DoubleFreeIsDetectedAfterOtherTrafficOfTheSameSize()
    {
        void* keep = NativeAllocator.Alloc(48);
        void* p = NativeAllocator.Alloc(48);
        NativeAllocator.Free(p);
        var others = new List<nint>();
        for (int i = 0; i < 100; i++)
        {
            others.Add((nint)NativeAllocator.Alloc(48));
        }

        // p may have been handed out again; free it through its new owner's pointer if so.
        bool reused = others.Contains((nint)p);
        foreach (nint o in others)
        {
            NativeAllocator.Free((void*)o);
        }

        Assert.True(reused);
        var e = Assert.Throws<InvalidOperationException>(() => NativeAllocator.Free(p));
        Assert.Contains("double free", e.Message);
        NativeAllocator.Free(keep);
        AssertAllocatorWorks();
    }

    [Fact]
    public void DoubleFreeIsDetectedAfterAFreeByAnotherThread()
    {
        void* keep = NativeAllocator.Alloc(64);
        void* p = NativeAllocator.Alloc(64);
        var t = new Thread(() => NativeAllocator.Free(p));
        t.Start();
        t.Join();
        var e = Assert.Throws<InvalidOperationException>(() => NativeAllocator.Free(p));
        Assert.Contains("double free", e.Message);

        // And a second free from yet another thread.
        Exception? fromThread = null;
        var t2 = new Thread(() =>
        {
            try
            {
                NativeAllocator.Free(p);
            }
            catch (Exception ex)
            {
                fromThread = ex;
            }
        });
        t2.Start();
        t2.Join();
        Assert.IsType<InvalidOperationException>(fromThread);
        NativeAllocator.Free(keep);
        AssertAllocatorWorks();
    }

    [Fact]
    public void DoubleFreeIsDetectedAfterThePageWasReleased()
    {
        // A lone 200 KiB block is the only block of its page; freeing it releases the page.
        void* p = NativeAllocator.Alloc(200_000);
        NativeAllocator.Free(p);
        var e = Assert.Throws<InvalidOperationException>(() => NativeAllocator.Free(p));
        Assert.Contains("double free", e.Message);
        AssertAllocatorWorks();
    }

    [Fact]
    public void ExceptionMessagesNameThePointer()
    {
        void* p = NativeAllocator.Alloc(32);
        NativeAllocator.Free(p);
        var e = Assert.Throws<InvalidOperationException>(() => NativeAllocator.Free(p));
        Assert.Contains(((nuint)p).ToString("x"), e.Message);
    }
}
