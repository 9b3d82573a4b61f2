"""Personal data protection (PIPL): one masking function for every place citizens' text leaves the system."""

from hotline.privacy.masking import mask_pii

__all__ = ["mask_pii"]
