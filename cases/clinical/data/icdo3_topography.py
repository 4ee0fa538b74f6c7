"""ICD-O-3 topography codes a sarcoma board records as the primary site.

Source: WHO, *International Classification of Diseases for Oncology*, 3rd edition, second
revision (ICD-O-3.2, 2019), topography section C00-C80 (the same codes as ICD-10 chapter II's
malignant neoplasms by site). Soft-tissue sarcomas are coded to C47 (peripheral nerves and
autonomic nervous system) and C49 (connective, subcutaneous and other soft tissues) unless
they arise in an organ; retroperitoneal and peritoneal ones to C48; bone to C40-C41. The
organs listed are those where visceral sarcomas and GIST arise.

Each row: code, label, the laterality rule ("paired": left/right is asked; "midline":
no side; "any": the site may be on either side or midline).
"""

from __future__ import annotations

PAIRED = "paired"
MIDLINE = "midline"
ANY = "any"

TOPOGRAPHY = (
    # Bones, joints and articular cartilage of limbs (C40) and other sites (C41).
    ("C40.0", "Long bones of upper limb, scapula and associated joints", PAIRED),
    ("C40.1", "Short bones of upper limb and associated joints", PAIRED),
    ("C40.2", "Long bones of lower limb and associated joints", PAIRED),
    ("C40.3", "Short bones of lower limb and associated joints", PAIRED),
    ("C40.8", "Overlapping lesion of bones, joints and articular cartilage of limbs", PAIRED),
    ("C40.9", "Bone of limb, NOS", PAIRED),
    ("C41.0", "Bones of skull and face and associated joints", ANY),
    ("C41.1", "Mandible", ANY),
    ("C41.2", "Vertebral column", MIDLINE),
    ("C41.3", "Rib, sternum, clavicle and associated joints", ANY),
    ("C41.4", "Pelvic bones, sacrum, coccyx and associated joints", ANY),
    ("C41.8", "Overlapping lesion of bones, joints and articular cartilage", ANY),
    ("C41.9", "Bone, NOS", ANY),
    # Peripheral nerves and autonomic nervous system (C47).
    ("C47.0", "Peripheral nerves of head, face and neck", ANY),
    ("C47.1", "Peripheral nerves of upper limb and shoulder", PAIRED),
    ("C47.2", "Peripheral nerves of lower limb and hip", PAIRED),
    ("C47.3", "Peripheral nerves of thorax", ANY),
    ("C47.4", "Peripheral nerves of abdomen", ANY),
    ("C47.5", "Peripheral nerves of pelvis", ANY),
    ("C47.6", "Peripheral nerves of trunk, NOS", ANY),
    ("C47.9", "Autonomic nervous system, NOS", ANY),
    # Retroperitoneum and peritoneum (C48).
    ("C48.0", "Retroperitoneum", ANY),
    ("C48.1", "Specified parts of peritoneum (mesentery, omentum)", ANY),
    ("C48.2", "Peritoneum, NOS", ANY),
    ("C48.8", "Overlapping lesion of retroperitoneum and peritoneum", ANY),
    # Connective, subcutaneous and other soft tissues (C49).
    ("C49.0", "Connective, subcutaneous and other soft tissues of head, face and neck", ANY),
    ("C49.1", "Connective, subcutaneous and other soft tissues of upper limb and shoulder", PAIRED),
    ("C49.2", "Connective, subcutaneous and other soft tissues of lower limb and hip", PAIRED),
    ("C49.3", "Connective, subcutaneous and other soft tissues of thorax", ANY),
    ("C49.4", "Connective, subcutaneous and other soft tissues of abdomen", ANY),
    ("C49.5", "Connective, subcutaneous and other soft tissues of pelvis", ANY),
    ("C49.6", "Connective, subcutaneous and other soft tissues of trunk, NOS", ANY),
    ("C49.8", "Overlapping lesion of connective, subcutaneous and other soft tissues", ANY),
    ("C49.9", "Connective, subcutaneous and other soft tissues, NOS", ANY),
    # Skin and breast (dermal sarcomas, DFSP, angiosarcoma, phyllodes-associated).
    ("C44.9", "Skin, NOS", ANY),
    ("C50.9", "Breast, NOS", PAIRED),
    # Digestive organs (GIST, visceral leiomyosarcoma).
    ("C15.9", "Oesophagus, NOS", MIDLINE),
    ("C16.9", "Stomach, NOS", MIDLINE),
    ("C17.0", "Duodenum", MIDLINE),
    ("C17.1", "Jejunum", MIDLINE),
    ("C17.2", "Ileum", MIDLINE),
    ("C17.9", "Small intestine, NOS", MIDLINE),
    ("C18.9", "Colon, NOS", MIDLINE),
    ("C20.9", "Rectum, NOS", MIDLINE),
    ("C22.0", "Liver", MIDLINE),
    ("C25.9", "Pancreas, NOS", MIDLINE),
    # Thoracic organs.
    ("C34.9", "Lung, NOS", PAIRED),
    ("C38.0", "Heart", MIDLINE),
    ("C38.1", "Anterior mediastinum", MIDLINE),
    ("C38.2", "Posterior mediastinum", MIDLINE),
    ("C38.4", "Pleura, NOS", PAIRED),
    # Great vessels are coded to their soft-tissue region; intimal sarcoma of the
    # pulmonary artery to the heart/mediastinum codes above.
    # Genital and urinary organs (uterine leiomyosarcoma, paratesticular liposarcoma).
    ("C53.9", "Cervix uteri", MIDLINE),
    ("C54.1", "Endometrium", MIDLINE),
    ("C54.2", "Myometrium", MIDLINE),
    ("C55.9", "Uterus, NOS", MIDLINE),
    ("C56.9", "Ovary", PAIRED),
    ("C61.9", "Prostate gland", MIDLINE),
    ("C63.1", "Spermatic cord", PAIRED),
    ("C64.9", "Kidney, NOS", PAIRED),
    ("C67.9", "Bladder, NOS", MIDLINE),
    # Other.
    ("C69.6", "Orbit, NOS", PAIRED),
    ("C71.9", "Brain, NOS", ANY),
    ("C72.0", "Spinal cord", MIDLINE),
    ("C76.0", "Head, face or neck, NOS", ANY),
    ("C80.9", "Unknown primary site", ANY),
)
