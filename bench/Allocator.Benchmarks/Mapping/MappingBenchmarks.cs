using System.IO.MemoryMappedFiles;
using Allocator.Mapping;
using BenchmarkDotNet.Attributes;

namespace Allocator.Benchmarks.Mapping;

/// <summary>
/// Create a mapping, write one byte to every page, unmap: <see cref="MemoryMapping"/> against the in-box
/// <see cref="MemoryMappedFile"/>, for anonymous memory (<see cref="MemoryMappedFile.CreateNew(string?, long)"/>
/// is the in-box way) and for a shared mapping of a file that already exists.
/// </summary>
/// <remarks>
/// The in-box method of each category is its baseline, so Ratio below 1 means <see cref="MemoryMapping"/> is faster.
/// Disposing the in-box view accessor runs <c>msync(MS_SYNC | MS_INVALIDATE)</c> on the view, which for a file
/// waits for the disk; <see cref="MemoryMapping"/> leaves write-back to the kernel unless asked, so the file
/// category also has a row that flushes.
/// The file is created (sparse, then written once) in <see cref="Setup"/>, so its pages are in the page cache for
/// both methods and neither pays for disk reads.
/// </remarks>
public unsafe class MappingBenchmarks
{
    private const string Anonymous = "Anonymous private";
    private const string FileShared = "File shared";

    private string _path = "";

    /// <summary>The size of each mapping in KiB: 64 KiB, 1 MiB, 64 MiB.</summary>
    [Params(64, 1024, 65536)]
    public int SizeKiB { get; set; }

    private long Size => SizeKiB * 1024L;

    [GlobalSetup]
    public void Setup()
    {
        _path = Path.Combine(Path.GetTempPath(), $"allocator-bench-{Environment.ProcessId}-{SizeKiB}.bin");
        using FileStream file = File.Create(_path);
        file.SetLength(Size);
        file.Write(new byte[Size]);
    }

    [GlobalCleanup]
    public void Cleanup() => File.Delete(_path);

    [Benchmark(Baseline = true, Description = "MemoryMappedFile.CreateNew")]
    [BenchmarkCategory(Anonymous)]
    public long InBoxAnonymous()
    {
        using MemoryMappedFile file = MemoryMappedFile.CreateNew(null, Size);
        return TouchView(file);
    }

    [Benchmark(Description = "MemoryMapping.CreateAnonymousPrivate")]
    [BenchmarkCategory(Anonymous)]
    public long MappingAnonymous()
    {
        using MemoryMapping mapping = MemoryMapping.CreateAnonymousPrivate((nuint)Size);
        return Touch((byte*)mapping.Pointer, Size);
    }

    [Benchmark(Baseline = true, Description = "MemoryMappedFile.CreateFromFile")]
    [BenchmarkCategory(FileShared)]
    public long InBoxFileShared()
    {
        using MemoryMappedFile file = MemoryMappedFile.CreateFromFile(_path, FileMode.Open, null, Size, MemoryMappedFileAccess.ReadWrite);
        return TouchView(file);
    }

    [Benchmark(Description = "MemoryMapping.CreateFileShared")]
    [BenchmarkCategory(FileShared)]
    public long MappingFileShared()
    {
        using MemoryMapping mapping = MemoryMapping.CreateFileShared(_path, 0, Size);
        return Touch((byte*)mapping.Pointer, Size);
    }

    /// <summary>
    /// As <see cref="MappingFileShared"/>, plus the synchronous msync that disposing a
    /// <see cref="MemoryMappedViewAccessor"/> always does: the like-for-like comparison with the in-box row.
    /// </summary>
    [Benchmark(Description = "MemoryMapping.CreateFileShared + Flush")]
    [BenchmarkCategory(FileShared)]
    public long MappingFileSharedFlushed()
    {
        using MemoryMapping mapping = MemoryMapping.CreateFileShared(_path, 0, Size);
        long pages = Touch((byte*)mapping.Pointer, Size);
        mapping.Flush();
        return pages;
    }

    private long TouchView(MemoryMappedFile file)
    {
        using MemoryMappedViewAccessor view = file.CreateViewAccessor(0, Size);
        byte* pointer = null;
        view.SafeMemoryMappedViewHandle.AcquirePointer(ref pointer);
        try
        {
            return Touch(pointer + view.PointerOffset, Size);
        }
        finally
        {
            view.SafeMemoryMappedViewHandle.ReleasePointer();
        }
    }

    /// <summary>Writes one byte to every page, so each page is faulted in; returns the number of pages.</summary>
    private static long Touch(byte* pointer, long size)
    {
        long pageSize = (long)MemoryMapping.PageSize;
        long pages = 0;
        for (long offset = 0; offset < size; offset += pageSize)
        {
            pointer[offset] = (byte)pages++;
        }

        return pages;
    }
}
