using ScottPlot;

namespace Allocator.Inspect;

/// <summary>
/// Draws a heap report as a PNG (ScottPlot): one row per segment, in address order; along the row, the segment's
/// 4 MiB, with one cell per page (128 KiB, 512 KiB or the whole segment), shaded from light (empty) to dark blue
/// (every block live). The header slot is grey, free pages are white, pages of exited threads are shaded in red.
/// Pages of 512 KiB and more are labelled with their block size and fullness.
/// </summary>
internal static class HeapPicture
{
    private const int Width = 1400;
    private const double SegmentKiB = 4096;

    private static readonly Color s_header = Colors.Gray;
    private static readonly Color s_free = Colors.White;
    private static readonly Color s_empty = Color.FromHex("#deebf7");
    private static readonly Color s_full = Color.FromHex("#08306b");
    private static readonly Color s_abandoned = Color.FromHex("#cb181d");

    /// <summary>Writes the picture of <paramref name="report"/> to <paramref name="path"/>.</summary>
    public static void Save(HeapReport report, string path)
    {
        var plot = new Plot();
        IReadOnlyList<SegmentReport> segments = report.Segments;
        for (int row = 0; row < segments.Count; row++)
        {
            SegmentReport segment = segments[row];
            double pageKiB = segment.PageSize / 1024.0;
            foreach (PageReport page in segment.Pages)
            {
                double left = page.Index * pageKiB;
                var cell = plot.Add.Rectangle(left, left + pageKiB, -row - 0.42, -row + 0.42);
                cell.FillColor = Shade(page);
                cell.LineColor = Colors.Black.WithAlpha(0.35);
                cell.LineWidth = 1;
                if (page.State is "used" or "abandoned" && pageKiB >= 512)
                {
                    var text = plot.Add.Text($"{Format.Bytes(page.BlockSize)}\n{Format.Percent(page.Fullness)}", left + (pageKiB / 2), -row);
                    text.LabelFontSize = 11;
                    text.LabelFontColor = page.Fullness > 0.5 ? Colors.White : Colors.Black;
                    text.LabelAlignment = Alignment.MiddleCenter;
                }
            }
        }

        plot.Axes.Left.TickGenerator = new ScottPlot.TickGenerators.NumericManual(
            Enumerable.Range(0, segments.Count).Select(r => (double)-r).ToArray(),
            segments.Select(s => $"{Format.Address(s.Address)}\n{Format.Bytes(s.PageSize)} pages").ToArray());
        plot.Axes.Bottom.TickGenerator = new ScottPlot.TickGenerators.NumericManual(
            [0, 1024, 2048, 3072, 4096], ["0", "1 MiB", "2 MiB", "3 MiB", "4 MiB"]);
        plot.Axes.SetLimits(0, SegmentKiB, -segments.Count + 0.5, 0.5);
        plot.XLabel("offset in the segment");
        HeapTotals t = report.Totals;
        plot.Title($"process {report.ProcessId} ({report.ProcessName}): {segments.Count} segments, {t.Pages} pages in use, {Format.Bytes(t.ArenaLiveBytes)} live in {Format.Bytes(t.PageBytes)}, fragmentation {Format.Percent(t.Fragmentation)}");

        plot.Legend.ManualItems.Add(new LegendItem { LabelText = "segment header", FillColor = s_header });
        plot.Legend.ManualItems.Add(new LegendItem { LabelText = "free page", FillColor = s_free, OutlineColor = Colors.Gray, OutlineWidth = 1 });
        foreach (double fullness in new[] { 0, 0.25, 0.5, 0.75, 1 })
        {
            plot.Legend.ManualItems.Add(new LegendItem { LabelText = $"{Format.Percent(fullness)} of blocks live", FillColor = s_empty.MixedWith(s_full, fullness) });
        }

        plot.Legend.ManualItems.Add(new LegendItem { LabelText = "page of an exited thread", FillColor = s_abandoned });
        plot.ShowLegend(Edge.Right);
        plot.SavePng(path, Width, 160 + (56 * Math.Max(segments.Count, 4)));
    }

    private static Color Shade(PageReport page) => page.State switch
    {
        "header" => s_header,
        "free" => s_free,
        "abandoned" => s_empty.MixedWith(s_abandoned, Math.Max(0.3, page.Fullness)),
        _ => s_empty.MixedWith(s_full, page.Fullness),
    };
}
