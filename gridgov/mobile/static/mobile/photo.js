/* Photos from the phone's camera, made small on the phone before they wait in the queue: at most 1600 px on
   the long side, JPEG at 0.8 (a 4 MB camera shot becomes ~300 KB, which a weak signal can carry). A photo the
   browser cannot decode (HEIC on some phones) is kept as it is: the server converts it. */

const MAX_SIDE = 1600;
const QUALITY = 0.8;

function baseName(name) {
  const dot = name.lastIndexOf(".");
  return (dot > 0 ? name.slice(0, dot) : name || "photo").slice(0, 60);
}

async function encode(bitmap, width, height) {
  if (typeof OffscreenCanvas !== "undefined") {
    const canvas = new OffscreenCanvas(width, height);
    canvas.getContext("2d").drawImage(bitmap, 0, 0, width, height);
    return canvas.convertToBlob({ type: "image/jpeg", quality: QUALITY });
  }
  const canvas = document.createElement("canvas");
  canvas.width = width;
  canvas.height = height;
  canvas.getContext("2d").drawImage(bitmap, 0, 0, width, height);
  return new Promise((resolve) => canvas.toBlob(resolve, "image/jpeg", QUALITY));
}

/** A photo ready for the queue: {blob, name, shrunk}. */
export async function prepare(file) {
  let bitmap;
  try {
    bitmap = await createImageBitmap(file, { imageOrientation: "from-image" });
  } catch {
    return { blob: file, name: file.name || "photo", shrunk: false };
  }
  try {
    const scale = Math.min(1, MAX_SIDE / Math.max(bitmap.width, bitmap.height));
    const width = Math.max(1, Math.round(bitmap.width * scale));
    const height = Math.max(1, Math.round(bitmap.height * scale));
    const blob = await encode(bitmap, width, height);
    // A small JPEG encoded again can grow: keep whichever is smaller when nothing had to shrink.
    if (!blob || (scale === 1 && file.type === "image/jpeg" && file.size <= blob.size)) {
      return { blob: file, name: file.name || "photo.jpg", shrunk: false };
    }
    return { blob, name: `${baseName(file.name)}.jpg`, shrunk: true };
  } catch {
    return { blob: file, name: file.name || "photo", shrunk: false };
  } finally {
    bitmap.close?.();
  }
}

/** Wire a file input to a list of thumbnails; answers the list of prepared photos (kept up to date). */
export function picker(input, list, { max = 9, field = "files", removeLabel = "", onError = () => {} } = {}) {
  const photos = [];
  input.addEventListener("change", async () => {
    const files = [...input.files];
    input.value = "";
    for (const file of files) {
      if (photos.length >= max) {
        onError("too_many_photos", { n: max });
        break;
      }
      const photo = await prepare(file);
      photo.field = field;
      photo.url = URL.createObjectURL(photo.blob);
      photos.push(photo);
      const remove = document.createElement("button");
      remove.type = "button";
      remove.textContent = "×";
      remove.setAttribute("aria-label", removeLabel);
      const item = document.createElement("li");
      const img = document.createElement("img");
      img.src = photo.url;
      img.alt = "";
      img.onerror = () => img.replaceWith(Object.assign(document.createElement("span"), { className: "raw" }));
      item.append(img, remove);
      remove.addEventListener("click", () => {
        photos.splice(photos.indexOf(photo), 1);
        URL.revokeObjectURL(photo.url);
        item.remove();
      });
      list.append(item);
    }
  });
  return photos;
}

/** The queue's form of a list of prepared photos. */
export function asFiles(photos) {
  return photos.map(({ field, blob, name }) => ({ field, blob, name }));
}
