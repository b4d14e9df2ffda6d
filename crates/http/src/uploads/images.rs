//! Images: a full decode under dimension and memory limits (so a
//! decompression bomb is refused before it allocates), the displayed size
//! (after EXIF orientation), and a thumbnail.

use std::fs::File;
use std::io::{BufReader, Cursor};
use std::path::Path;

use image::codecs::jpeg::JpegEncoder;
use image::metadata::Orientation;
use image::{DynamicImage, ImageDecoder, ImageError, ImageFormat, ImageReader, Limits};

use super::sniff::FileType;

/// Largest width or height accepted.
pub const MAX_DIMENSION: u32 = 10_000;
/// Most memory one decode may allocate.
pub const MAX_ALLOC: u64 = 256 * 1024 * 1024;
/// Longest side of a thumbnail.
pub const THUMB_SIDE: u32 = 320;

/// Why an image was refused.
#[derive(Debug)]
pub enum ImageRefusal {
    /// Over the dimension or memory limits (answers 422).
    TooLarge(String),
    /// Not a decodable image (answers 415).
    Invalid(String),
}

/// A decoded image's size and its encoded thumbnail.
#[derive(Debug)]
pub struct Inspected {
    pub width: u32,
    pub height: u32,
    pub thumbnail: Vec<u8>,
    /// `jpg`, or `png` when the image has transparency.
    pub thumbnail_ext: &'static str,
}

fn format_of(kind: FileType) -> Option<ImageFormat> {
    match kind {
        FileType::Jpeg => Some(ImageFormat::Jpeg),
        FileType::Png => Some(ImageFormat::Png),
        FileType::Gif => Some(ImageFormat::Gif),
        FileType::Webp => Some(ImageFormat::WebP),
        _ => None,
    }
}

fn refusal(e: ImageError) -> ImageRefusal {
    match e {
        ImageError::Limits(l) => ImageRefusal::TooLarge(format!(
            "the image is too large to process (at most {MAX_DIMENSION}x{MAX_DIMENSION} pixels): {l}"
        )),
        other => ImageRefusal::Invalid(format!("not a valid image: {other}")),
    }
}

/// Decodes the image at `path` (of the detected `kind`; a GIF's first
/// frame) and makes its thumbnail.
pub fn inspect(path: &Path, kind: FileType) -> Result<Inspected, ImageRefusal> {
    let format = format_of(kind).ok_or_else(|| ImageRefusal::Invalid("not an image".into()))?;
    let file = File::open(path).map_err(|e| ImageRefusal::Invalid(e.to_string()))?;
    let mut reader = ImageReader::with_format(BufReader::new(file), format);
    let mut limits = Limits::default();
    limits.max_image_width = Some(MAX_DIMENSION);
    limits.max_image_height = Some(MAX_DIMENSION);
    limits.max_alloc = Some(MAX_ALLOC);
    reader.limits(limits);
    let mut decoder = reader.into_decoder().map_err(refusal)?;
    if decoder.total_bytes() > MAX_ALLOC {
        return Err(ImageRefusal::TooLarge(format!(
            "the image is too large to process: it would need {} MB to decode (at most {} MB)",
            decoder.total_bytes() >> 20,
            MAX_ALLOC >> 20
        )));
    }
    let orientation = decoder.orientation().unwrap_or(Orientation::NoTransforms);
    let image = DynamicImage::from_decoder(decoder).map_err(refusal)?;
    let (w, h) = (image.width(), image.height());
    if w == 0 || h == 0 {
        return Err(ImageRefusal::Invalid("the image is empty".into()));
    }
    // Shrink first, then turn the small copy upright.
    let mut small = if w.max(h) > THUMB_SIDE {
        image.thumbnail(THUMB_SIDE, THUMB_SIDE)
    } else {
        image
    };
    small.apply_orientation(orientation);
    let (width, height) = match orientation {
        Orientation::Rotate90
        | Orientation::Rotate270
        | Orientation::Rotate90FlipH
        | Orientation::Rotate270FlipH => (h, w),
        _ => (w, h),
    };
    let mut thumbnail = Vec::new();
    let thumbnail_ext = if small.color().has_alpha() {
        small
            .write_to(&mut Cursor::new(&mut thumbnail), ImageFormat::Png)
            .map_err(|e| ImageRefusal::Invalid(format!("cannot make a thumbnail: {e}")))?;
        "png"
    } else {
        JpegEncoder::new_with_quality(&mut thumbnail, 82)
            .encode_image(&small.to_rgb8())
            .map_err(|e| ImageRefusal::Invalid(format!("cannot make a thumbnail: {e}")))?;
        "jpg"
    };
    Ok(Inspected {
        width,
        height,
        thumbnail,
        thumbnail_ext,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::{ImageEncoder, RgbImage, RgbaImage};

    fn temp_file(bytes: &[u8]) -> std::path::PathBuf {
        let path = std::env::temp_dir().join(format!(
            "livechat-image-test-{}",
            super::super::names::random_hex(8)
        ));
        std::fs::write(&path, bytes).unwrap();
        path
    }

    fn thumb_size(bytes: &[u8]) -> (u32, u32) {
        let img = image::load_from_memory(bytes).unwrap();
        (img.width(), img.height())
    }

    #[test]
    fn jpeg_webp_and_transparent_png() {
        let mut jpeg = Vec::new();
        JpegEncoder::new_with_quality(&mut jpeg, 90)
            .encode_image(&RgbImage::from_pixel(1000, 500, image::Rgb([200, 10, 10])))
            .unwrap();
        let path = temp_file(&jpeg);
        let got = inspect(&path, FileType::Jpeg).unwrap();
        std::fs::remove_file(&path).unwrap();
        assert_eq!(
            (got.width, got.height, got.thumbnail_ext),
            (1000, 500, "jpg")
        );
        assert_eq!(thumb_size(&got.thumbnail), (320, 160));

        let mut webp = Vec::new();
        image::codecs::webp::WebPEncoder::new_lossless(&mut webp)
            .write_image(
                RgbImage::from_pixel(40, 400, image::Rgb([1, 2, 3])).as_raw(),
                40,
                400,
                image::ExtendedColorType::Rgb8,
            )
            .unwrap();
        let path = temp_file(&webp);
        let got = inspect(&path, FileType::Webp).unwrap();
        std::fs::remove_file(&path).unwrap();
        assert_eq!((got.width, got.height), (40, 400));
        assert_eq!(thumb_size(&got.thumbnail), (32, 320));

        let mut png = Vec::new();
        DynamicImage::ImageRgba8(RgbaImage::from_pixel(10, 10, image::Rgba([0, 0, 0, 0])))
            .write_to(&mut Cursor::new(&mut png), ImageFormat::Png)
            .unwrap();
        let path = temp_file(&png);
        let got = inspect(&path, FileType::Png).unwrap();
        std::fs::remove_file(&path).unwrap();
        assert_eq!(got.thumbnail_ext, "png", "transparency is kept");
        assert_eq!(thumb_size(&got.thumbnail), (10, 10));

        // JPEG bytes judged as PNG do not decode.
        let path = temp_file(&jpeg);
        let refused = inspect(&path, FileType::Png);
        std::fs::remove_file(&path).unwrap();
        assert!(matches!(refused, Err(ImageRefusal::Invalid(_))));
    }
}
