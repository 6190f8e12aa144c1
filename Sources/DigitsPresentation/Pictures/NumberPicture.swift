// The picture `digits classify --save-preprocessed` writes for a number: the input in gray with
// a box around each digit found and its reading above it (green, or red with "?" for a position
// refused as not a digit), so a wrong split or a merged pair shows at a glance.
import DigitsKit

package enum NumberPicture {
    package static func draw(_ picture: GrayImage, reading: NumberReading) -> Canvas {
        // Small pictures are magnified so the labels stay legible; large ones are drawn as they are.
        let scale = max(1, min(4, 240 / max(1, picture.height)))
        let labelHeight = 7 * 2 + 6
        var canvas = Canvas(width: picture.width * scale + 8, height: picture.height * scale + labelHeight + 8, background: RGB(40, 40, 40))
        canvas.draw(picture, x: 4, y: labelHeight + 4, scale: scale, ink: RGB(255, 255, 255), background: RGB(0, 0, 0))
        for digit in reading.digits {
            let color = digit.reading.rejected ? RGB(230, 60, 60) : RGB(60, 210, 90)
            let box = digit.box
            canvas.strokeRectangle(x: 4 + box.x * scale - 1, y: labelHeight + 4 + box.y * scale - 1,
                                   width: box.width * scale + 2, height: box.height * scale + 2, thickness: 1, color: color)
            let label = digit.reading.digit.map(String.init) ?? "?"
            _ = canvas.drawText(label, x: 4 + box.x * scale + max(0, box.width * scale / 2 - 5), y: 3, scale: 2, color: color)
        }
        return canvas
    }
}
